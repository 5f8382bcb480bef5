"""Join the read ``linkedin2`` training labels with their text: a training file for ``train``.

``data/labels/linkedin2_train.csv`` holds 200 postings of the ``linkedin2`` source that are not in
its validation draw (``scripts/draw_linkedin2_train.py``), each read whole by two independent
readers (``docs/labelling-guide.md``); disagreements adjudicated. The text stays where
``scripts/build_linkedin_source.py`` wrote it; the joined file goes outside the repository:

    python scripts/build_linkedin_source.py SNAPSHOT --out /tmp/src/linkedin.csv
    python scripts/join_linkedin_train.py /tmp/src/linkedin.csv /tmp/linkedin2_train_labelled.csv

Columns: id, title, company, description, label, split (``train``), source.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from join_validation import ROOT, _rows


def main(rebuilt: str, out: str) -> None:
    texts = {r["id"]: r for r in _rows(Path(rebuilt))}
    labels = _rows(ROOT / "data" / "labels" / "linkedin2_train.csv")
    missing = [lab["id"] for lab in labels if lab["id"] not in texts]
    if missing:
        raise SystemExit(f"{len(missing)} labelled ids are not in {rebuilt}: rebuild it first")
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "company", "description", "label", "split", "source"])
        for lab in labels:
            p = texts[lab["id"]]
            w.writerow(
                [
                    lab["id"],
                    p["title"],
                    p["company"],
                    p["description"],
                    lab["label"],
                    "train",
                    lab["source"],
                ]
            )
    print(f"wrote {len(labels)} read linkedin2 training postings to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rebuilt", help="linkedin2's rebuilt CSV (build_linkedin_source.py)")
    parser.add_argument("out")
    args = parser.parse_args()
    main(args.rebuilt, args.out)
