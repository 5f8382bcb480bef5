"""How the postings of ``data/labels/source_validation.csv`` were drawn, and their reading packets.

From the ``split=test`` rows of ``../shared/data/real-postings`` it draws, per source, a seeded
uniform sample (seed 26): 65 RemoteWLB, 60 Glassdoor (PlayingNumbers), 60 Anthropic
(corinfinite) and all 25 OpenAI (consistentJake) postings, 210 in all, as they come (no
stratifying by title or label). Each posting was read whole, title and text, by two readers working
apart (``docs/labelling-guide.md``); these rows are validation only and never trained on.

    python scripts/draw_source_validation.py ids              # the 210 ids, one a line
    python scripts/draw_source_validation.py packets OUTDIR   # three shuffled reading packets
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTINGS = ROOT.parent / "shared" / "data" / "real-postings" / "postings.csv"
PER_SOURCE = {
    "RemoteWLB/remote-jobs": 65,
    "PlayingNumbers/ds_salary_proj": 60,
    "corinfinite/ai-job-watch": 60,
    "consistentJake/Chrome-Crawler-mcp": 25,
}
SEED = 26
PACKETS = 3


def draw() -> list[dict[str, str]]:
    """The drawn rows of the test split, in a fixed order (source, then draw order)."""
    csv.field_size_limit(1 << 30)
    with open(POSTINGS, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    rng = random.Random(SEED)
    out = []
    for source, n in PER_SOURCE.items():
        pool = sorted((r for r in rows if r["source_repo"] == source), key=lambda r: r["id"])
        out += rng.sample(pool, min(n, len(pool)))
    return out


def packets(outdir: Path) -> None:
    """Write the drawn postings, shuffled, into PACKETS markdown files for readers."""
    rows = draw()
    random.Random(SEED + 1).shuffle(rows)
    outdir.mkdir(parents=True, exist_ok=True)
    for k in range(PACKETS):
        part = rows[k::PACKETS]
        with open(outdir / f"packet-{k + 1}.md", "w", encoding="utf-8") as f:
            for i, r in enumerate(part, 1):
                f.write(f"\n\n======== POSTING {i} of {len(part)}\nid: {r['id']}\n")
                f.write(f"title: {r['title']}\ncompany: {r['company']}\n\n{r['description']}\n")
        print(f"packet {k + 1}: {len(part)} postings")


if __name__ == "__main__":
    if sys.argv[1:2] == ["ids"]:
        print("\n".join(r["id"] for r in draw()))
    elif sys.argv[1:2] == ["packets"] and len(sys.argv) == 3:
        packets(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
