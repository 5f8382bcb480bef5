"""Draw 200 ``linkedin2`` postings for TRAINING labels, none of them a validation posting.

No further public source with enough AI/ML-titled, full-text, English postings was found (the
survey is in ``docs/sources/linkedin2.md``, "Training draw"), so the training draw comes from the
``linkedin2`` rows that are not in the validation draw ``data/labels/linkedin_draw.csv``.

Input is the rebuilt source (``scripts/build_linkedin_source.py`` writes ``/tmp/src/linkedin.csv``).
Rules, in order:

1. Drop the 120 validation ids (``data/labels/linkedin_draw.csv``).
2. Leakage guard: drop a row whose title and company (case-folded) equal those of a validation
   row, or whose description has word 5-shingle Jaccard >= 0.5 with a validation row's (the
   rebuild already removed pairs >= 0.8; templated agency ads can still come close).
3. Drop a row whose title and company also appear in ``postings.csv`` of the shared real
   postings (``--shared``; none do at the time of writing, the check stays).
4. Draw ``--n`` ids with ``_sources.draw``: round(``--ai-share`` x n) from stratum ``ai``, the
   rest from ``tech``; pools sorted by job id, one ``random.Random(seed)``, drawn ids shuffled.
   The ``ai`` pool is smaller than its share, so all of it is taken and ``tech`` makes up the rest.

Writes the ids (``id,source``) to ``--out`` and the drawn rows, in the same order, to
``--full-out`` (outside the repository: posting text never enters it).

Usage::

    python scripts/draw_linkedin2_train.py --rows /tmp/src/linkedin.csv \\
        --out data/labels/linkedin2_train_draw.csv --full-out /tmp/src2/linkedin2_draw_full.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from _sources import draw, jaccard, shingles, write_ids, write_rows

SOURCE = "linkedin2"
LEAK_JACCARD = 0.5
SHARED = Path(__file__).resolve().parents[1] / "../shared/data/real-postings/postings.csv"


def _read(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _pair(r: dict[str, str]) -> tuple[str, str]:
    return r["title"].strip().lower(), r["company"].strip().lower()


def pool(
    rows: list[dict[str, str]], validation: set[str], shared: list[dict[str, str]]
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Apply rules 1-3 of the module docstring; return the pool and the count after each step."""
    counts = {"rows": len(rows)}
    held = [r for r in rows if r["id"] in validation]
    rows = [r for r in rows if r["id"] not in validation]
    counts["not_validation"] = len(rows)
    pairs = {_pair(r) for r in held}
    held_sh = [shingles(r["description"]) for r in held]
    rows = [
        r
        for r in rows
        if _pair(r) not in pairs
        and all(jaccard(shingles(r["description"]), s) < LEAK_JACCARD for s in held_sh)
    ]
    counts["no_leak"] = len(rows)
    shared_pairs = {_pair(r) for r in shared}
    rows = [r for r in rows if _pair(r) not in shared_pairs]
    counts["not_shared"] = len(rows)
    counts["ai"] = sum(r["stratum"] == "ai" for r in rows)
    counts["tech"] = sum(r["stratum"] == "tech" for r in rows)
    return rows, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=Path, default=Path("/tmp/src/linkedin.csv"))
    ap.add_argument("--validation", type=Path, default=Path("data/labels/linkedin_draw.csv"))
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ai-share", type=float, default=0.75)
    ap.add_argument("--out", type=Path, default=Path("data/labels/linkedin2_train_draw.csv"))
    ap.add_argument("--full-out", type=Path, default=Path("/tmp/src2/linkedin2_draw_full.csv"))
    args = ap.parse_args()

    validation = {r["id"] for r in _read(args.validation)}
    shared = _read(args.shared) if args.shared.is_file() else []
    rows, counts = pool(_read(args.rows), validation, shared)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    ids = draw(rows, args.n, args.seed, args.ai_share, strict=False)
    by_id = {r["id"]: r for r in rows}
    drawn = [by_id[i] for i in ids]
    write_ids(args.out, ids, SOURCE)
    write_rows(args.full_out, drawn)
    n_ai = sum(r["stratum"] == "ai" for r in drawn)
    print(f"drew {len(ids)} ids (seed {args.seed}): ai={n_ai} tech={len(ids) - n_ai}")
    print(f"-> {args.out}, {args.full_out}")


if __name__ == "__main__":
    main()
