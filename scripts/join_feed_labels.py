"""Join our read labels of real-feed postings with their text, into a labelled CSV.

The labels live in the repository; the postings' text stays in ``../shared/data/real-feed`` and
never enters it. Both files have two independent readers per posting and an adjudicated label
where they disagreed (see docs/labelling-guide.md):

- ``data/labels/real_feed_sample.csv``: 220 postings (a uniform sample and AI-text postings
  whose titles do not name the role), split by id hash into ``train`` and ``test``;
- ``data/labels/real_feed_train.csv``: 500 more postings, all ``train``;
- ``data/labels/real_feed_active.csv``: 874 more, all ``train``: every remaining posting with AI
  text or an AI-sounding title, the ones the model was least sure of first.

The joined file goes wherever you say (outside the repository):

    python scripts/join_feed_labels.py /tmp/real_feed_labelled.csv

Columns: id, title, company, description, month, stratum, split, label.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = [
    ROOT / "data" / "labels" / name
    for name in ("real_feed_sample.csv", "real_feed_train.csv", "real_feed_active.csv")
]
FEED = ROOT.parent / "shared" / "data" / "real-feed" / "postings.csv"


def main(out: str) -> None:
    csv.field_size_limit(1 << 30)
    labels: dict[str, dict[str, str]] = {}
    for path in LABELS:
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if r["id"] in labels:
                    sys.exit(f"{path}: {r['id']} is labelled twice")
                labels[r["id"]] = r
    rows = []
    with open(FEED, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            lab = labels.get(r["id"])
            if lab is not None:
                rows.append(
                    {
                        "id": r["id"],
                        "title": r["title"],
                        "company": r["company"],
                        "description": r["description"],
                        "month": r["month"],
                        "stratum": lab["stratum"],
                        "split": lab["split"],
                        "label": lab["label"],
                    }
                )
    if len(rows) != len(labels):
        sys.exit(f"{len(labels) - len(rows)} labelled ids are not in {FEED}")
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} labelled real-feed postings to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "real_feed_labelled.csv")
