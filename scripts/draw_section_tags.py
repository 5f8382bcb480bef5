"""How the postings of ``data/labels/section_tags.csv`` were drawn, and their tagging packets.

Readers tag every sentence of a training posting as the job's duties or requirements (``D``), the
company, its product or mission (``C``), or benefits, pay, legal/EEO, location logistics and how to
apply (``B``). The sentences are those the model reads: ``text.clean_text`` then
``text.split_sentences``, numbered from 0, so a tag file holds ids and sentence ranges, never text.

Drawn with seed 26 from training rows only: 150 read real-feed postings of ``split=train``
(75 read as an AI role, 75 as Other) and 150 ``split=train`` rows of ``../shared/data/real-postings``
(75 AI roles by title, 75 Other), 300 in all, shuffled. Four packets of 75; each packet also holds
the first 10 postings of the next one, so 40 postings are tagged twice (agreement).

    python scripts/join_feed_labels.py /tmp/real_feed_labelled.csv
    python scripts/draw_section_tags.py /tmp/real_feed_labelled.csv OUTDIR
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTINGS = ROOT.parent / "shared" / "data" / "real-postings" / "postings.csv"
SEED = 26
PER_PACKET = 75
OVERLAP = 10


def _read(path: Path | str) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def draw(feed_labelled: str) -> list[dict[str, str]]:
    """The 300 drawn training rows (id, title, description), shuffled."""
    rng = random.Random(SEED)
    feed = sorted((r for r in _read(feed_labelled) if r["split"] == "train"), key=lambda r: r["id"])
    real = sorted((r for r in _read(POSTINGS) if r["split"] == "train"), key=lambda r: r["id"])
    rows = []
    for pool, key in ((feed, "label"), (real, "title_label")):
        ai = [r for r in pool if r[key] != "Other"]
        other = [r for r in pool if r[key] == "Other"]
        rows += rng.sample(ai, 75) + rng.sample(other, 75)
    rng.shuffle(rows)
    return rows


def sentences(row: dict[str, str]) -> list[str]:
    """The numbered units a reader tags: the model's own sentence split of the cleaned text."""
    from role_classifier.text import clean_text, split_sentences

    return split_sentences(clean_text(row["description"]))


def packets(feed_labelled: str, outdir: Path) -> None:
    rows = draw(feed_labelled)
    n = len(rows) // PER_PACKET
    outdir.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        nxt = (k + 1) % n
        part = rows[k * PER_PACKET : (k + 1) * PER_PACKET]
        part += rows[nxt * PER_PACKET : nxt * PER_PACKET + OVERLAP]
        with open(outdir / f"tags-packet-{k + 1}.md", "w", encoding="utf-8") as f:
            for i, r in enumerate(part, 1):
                f.write(f"\n\n======== POSTING {i} of {len(part)}\nid: {r['id']}\n")
                f.write(f"title: {r['title']}\n\n")
                for j, s in enumerate(sentences(r)):
                    f.write(f"[{j}] {s}\n")
        print(f"packet {k + 1}: {len(part)} postings")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    packets(sys.argv[1], Path(sys.argv[2]))
