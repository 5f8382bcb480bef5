"""Shared steps of the scripts that rebuild a source of real postings and draw ids from it.

Used by ``build_linkedin_source.py`` (source ``linkedin2``) and ``draw_linkedin2_train.py``:
text cleaning, the English filter, the title strata (``ai`` / ``tech``), exact and near-duplicate
removal, and the stratified seeded draw. The scripts import it as ``_sources`` (``scripts/`` is
on ``sys.path`` when a script in it runs).
"""

from __future__ import annotations

import csv
import html
import random
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from role_classifier.text import detect_language

FIELDS = ["id", "title", "company", "description", "source", "date", "stratum"]
NEAR_DUP = 0.8

AI_TITLE = re.compile(
    r"machine[- ]learning|\bml\b|\bai\b|\ba\.i\.|artificial intelligence|deep learning|"
    r"\bml ?ops\b|\bllms?\b|\bnlp\b|natural language|computer vision|\bgen ?ai\b|generative|"
    r"\bprompt\b|agentic|\bai agents?\b|research scientist|applied scientist|research engineer|"
    r"neural|reinforcement learning|foundation model|language model",
    re.I,
)
TECH_TITLE = re.compile(
    r"data|analytic|analyst|business intelligence|\bbi\b|power ?bi|tableau|software|developer|"
    r"programmer|engineer|devops|cloud|python|\bsql\b|database|\betl\b|statistic|quant|"
    r"scientist|architect|\bit\b",
    re.I,
)
CLERICAL = re.compile(r"data entry|clerk|typist|transcri", re.I)
_TAG = re.compile(r"<[^>]+>")


def clean(text: str) -> str:
    """Plain text: tags stripped, entities unescaped, spaces collapsed, blank lines capped."""
    text = _TAG.sub(" ", html.unescape(html.unescape(text or "")))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def english(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows whose description the project's language identifier calls English."""
    return [r for r in rows if detect_language(r["description"]) == "en"]


def stratum(title: str) -> str | None:
    """``ai`` for AI/ML-flavoured titles, ``tech`` for plain software/data ones, else None."""
    if AI_TITLE.search(title):
        return "ai"
    if TECH_TITLE.search(title) and not CLERICAL.search(title):
        return "tech"
    return None


def shingles(text: str, k: int = 5) -> set[int]:
    """Hashed word k-shingles of a text (lower-cased), for Jaccard similarity."""
    words = re.findall(r"\w+", text.lower())
    return {hash(" ".join(words[i : i + k])) for i in range(max(1, len(words) - k + 1))}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b)


def dedup(rows: list[dict[str, str]], threshold: float = NEAR_DUP) -> list[dict[str, str]]:
    """Drop exact duplicates (title + normalised description) and near duplicates.

    A row is dropped when its description's 5-shingle Jaccard with an already kept row is
    >= threshold; rows are taken in the given order, so the first of each group is kept.
    """
    kept, exact, sh = [], set(), []
    for r in rows:
        key = (r["title"].lower(), re.sub(r"\W+", " ", r["description"].lower()).strip())
        if key in exact:
            continue
        s = shingles(r["description"])
        if any(jaccard(s, t) >= threshold for t in sh):
            continue
        exact.add(key)
        sh.append(s)
        kept.append(r)
    return kept


def draw(
    rows: list[dict[str, str]],
    n: int,
    seed: int,
    ai_share: float,
    key: Callable[[str], object] = int,
    strict: bool = True,
) -> list[str]:
    """Draw n ids: round(ai_share * n) from stratum ai, the rest from tech, then shuffle.

    Pools are sorted by ``key`` (job ids are numbers) and sampled with one
    ``random.Random(seed)``, which then shuffles the drawn ids so the order does not show the
    strata. With ``strict`` a stratum smaller than its share stops the script; without it the
    whole ``ai`` pool is taken and ``tech`` makes up the rest.
    """
    rng = random.Random(seed)
    n_ai = round(ai_share * n)
    pools = {
        name: sorted((r["id"] for r in rows if r["stratum"] == name), key=key)
        for name in ("ai", "tech")
    }
    if not strict:
        n_ai = min(n_ai, len(pools["ai"]))
    out = []
    for name, k in (("ai", n_ai), ("tech", n - n_ai)):
        if k > len(pools[name]):
            sys.exit(f"stratum {name} has {len(pools[name])} rows, {k} wanted")
        out += rng.sample(pools[name], k)
    rng.shuffle(out)
    return out


def write_rows(path: Path, rows: Iterable[dict[str, str]]) -> None:
    """Write rows as CSV with the columns ``FIELDS`` (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)


def write_ids(path: Path, ids: Iterable[str], source: str) -> None:
    """Write drawn ids as ``id,source`` CSV (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source"])
        w.writerows([i, source] for i in ids)
