"""Rebuild the ``linkedin2`` source of real postings, and draw its ids for expert labelling.

The source is ``data/linkedin_jobs.csv`` of the public repository
``muabdalaleam/data-jobs-analysis`` (MIT licence), a LinkedIn scrape made by the repository's
``mine_linkedin.py`` through LinkedIn's public guest job pages in September 2025: the searches
"Data scientist", "Data analyst", "Machine learning", "Data engineer" and "Data entry", each in
"United States" and "European Union" (about 200 postings per search, 990 rows). Each row holds
the LinkedIn job id, title, company and the posting's full description as plain text. No
posting text is kept in this repository: the script reads the snapshot and writes the CSV under
``/tmp/src`` (or wherever ``--out`` says).

Rules, in order:

1. Clean: HTML tags stripped and entities unescaped (the file is plain text already; this is a
   guard), spaces collapsed, newlines kept.
2. Drop rows whose cleaned description is shorter than 200 characters ("empty").
3. Drop repeated LinkedIn job ids (the same posting returned by two searches), keeping the first.
4. Keep English only: the project's own language identifier
   (:func:`role_classifier.text.detect_language`, py3langid per chunk) says most of the
   description is English (it drops the Italian, Spanish, Dutch, Greek and bilingual ones).
5. Keep a title only if it is AI/ML-flavoured (``AI_TITLE``: machine learning, ML, AI,
   artificial intelligence, deep learning, MLOps, LLM, NLP, computer vision, GenAI/generative,
   prompt, agentic/AI agent, research/applied scientist, research engineer ...) -> stratum ``ai``;
   or else a plain software/data title (``TECH_TITLE``: data scientist/analyst/engineer,
   analytics, BI, software, developer, engineer, DevOps, cloud, database, SQL, Python ...) ->
   stratum ``tech``, where most postings should be ``Other``. Clerical "data entry" titles and
   everything else are dropped.
6. Drop exact duplicates (same title and normalised description) and near duplicates (word
   5-shingle Jaccard >= 0.8 between descriptions), keeping the lowest job id of each group.

The draw (``--draw 120 --seed 7``) takes round(0.7 * N) ids uniformly from stratum ``ai`` and the
rest from stratum ``tech`` (pools sorted by id, one ``random.Random(seed)``), then shuffles the
drawn ids with the same generator so the file does not reveal the strata.

Cleaning, the English filter, the title strata, the deduplication and the draw live in
``scripts/_sources.py``, shared with ``scripts/draw_linkedin2_train.py``.

Usage::

    # the snapshot's git dir (from the fetch tool) or a copy of the CSV file
    python scripts/build_linkedin_source.py /work/.mirror/muabdalaleam+data-jobs-analysis/repo \\
        --out /tmp/src/linkedin.csv
    python scripts/build_linkedin_source.py SNAPSHOT --out /tmp/src/linkedin.csv \\
        --draw 120 --seed 7 --draw-out data/labels/linkedin_draw.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
from pathlib import Path

from _sources import clean, dedup, draw, english, stratum, write_ids, write_rows

REPO = "muabdalaleam/data-jobs-analysis"
COMMIT = "867930bb6bcb86951c3355612eb15f56f83857aa"  # snapshot HEAD (2025-09-10)
FILE_COMMIT = "e6dd3b87a4ed9179c0d86a3b0bc7b890f53277b0"  # last change of PATH (2025-09-09)
PATH = "data/linkedin_jobs.csv"
BLOB = "75e3d520442b436bc0c7cc7b72a3c5f56608b9a3"  # git blob id of PATH at COMMIT
SOURCE = "linkedin2"
DATE = "2025-09-09"  # collection date (commit of the file); postings were 1 day to ~1 month old

MIN_CHARS = 200
AI_SHARE = 0.7


def read_snapshot(source: Path) -> str:
    """Return the text of PATH from a snapshot git dir at COMMIT, or of a CSV file.

    Args:
        source: the fetched repository's git dir (``.../repo`` or ``.../repo/.git``), or a file.
    Returns:
        The CSV text.
    """
    if source.is_file():
        return source.read_text(encoding="utf-8")
    blob = subprocess.run(
        ["git", "--git-dir", str(source), "rev-parse", f"{COMMIT}:{PATH}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if blob != BLOB:
        sys.exit(f"{PATH} at {COMMIT} is blob {blob}, expected {BLOB}")
    return subprocess.run(
        ["git", "--git-dir", str(source), "show", f"{COMMIT}:{PATH}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def build(text: str) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Apply the rules of the module docstring to the source CSV text.

    Returns:
        The kept rows (sorted by id) and the count left after each step.
    """
    csv.field_size_limit(1 << 30)
    raw = list(csv.DictReader(io.StringIO(text)))
    counts = {"rows": len(raw)}
    rows, seen = [], set()
    for r in raw:
        desc = clean(r["description"])
        if len(desc) < MIN_CHARS:
            continue
        jid = r["id"].strip()
        if jid in seen:
            continue
        seen.add(jid)
        rows.append(
            {
                "id": jid,
                "title": clean(r["posting_title"]).replace("\n", " "),
                "company": clean(r["company_name"]).replace("\n", " "),
                "description": desc,
                "source": SOURCE,
                "date": DATE,
            }
        )
    counts["unique_nonempty"] = len(rows)
    rows = english(rows)
    counts["english"] = len(rows)
    for r in rows:
        r["stratum"] = stratum(r["title"]) or ""
    rows = [r for r in rows if r["stratum"]]
    counts["title_kept"] = len(rows)
    rows.sort(key=lambda r: int(r["id"]))
    kept = dedup(rows)
    counts["deduplicated"] = len(kept)
    counts["ai"] = sum(r["stratum"] == "ai" for r in kept)
    counts["tech"] = sum(r["stratum"] == "tech" for r in kept)
    return kept, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="snapshot git dir or a copy of the CSV")
    ap.add_argument("--out", type=Path, default=Path("/tmp/src/linkedin.csv"))
    ap.add_argument("--draw", type=int, default=0, help="ids to draw (0: no draw)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--draw-out", type=Path, default=Path("data/labels/linkedin_draw.csv"))
    args = ap.parse_args()

    rows, counts = build(read_snapshot(args.source))
    write_rows(args.out, rows)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"-> {args.out}")
    if args.draw:
        ids = draw(rows, args.draw, args.seed, AI_SHARE)
        write_ids(args.draw_out, ids, SOURCE)
        print(f"drew {len(ids)} ids (seed {args.seed}) -> {args.draw_out}")


if __name__ == "__main__":
    main()
