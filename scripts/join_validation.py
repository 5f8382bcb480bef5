"""Join the project's expert validation labels with their text: the per-source validation set.

Two files of labels made by two independent readers each (``docs/labelling-guide.md``), never
trained on:

- ``data/labels/source_validation.csv``: 210 ``split=test`` postings of the four sources of
  ``../shared/data/real-postings`` (``scripts/draw_source_validation.py``);
- ``data/labels/real_feed_sample.csv``, its ``split=test`` rows: 103 postings of the real feed;
- ``data/labels/linkedin_validation.csv``: 120 postings of a LinkedIn data/ML search
  (``docs/sources/linkedin2.md``), joined when its rebuilt text is given (``--linkedin``).

The text stays in ``../shared`` (and, for linkedin2, where its rebuild script wrote it); the
joined file goes wherever you say (outside the repository):

    python scripts/join_validation.py /tmp/validation.csv
    python scripts/build_linkedin_source.py SNAPSHOT --out /tmp/src/linkedin.csv
    python scripts/join_validation.py /tmp/validation.csv --linkedin /tmp/src/linkedin.csv

Columns: id, source (a short name per source), title, company, description, label, title_label
(the rules' label from the title; empty for the feed).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SOURCES = {  # short names, as the per-source table prints them
    "RemoteWLB/remote-jobs": "remotewlb",
    "PlayingNumbers/ds_salary_proj": "glassdoor",
    "corinfinite/ai-job-watch": "anthropic",
    "consistentJake/Chrome-Crawler-mcp": "openai",
}
FEED = "feed"


def _rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def main(out: str, linkedin: str | None = None) -> None:
    postings = {r["id"]: r for r in _rows(SHARED / "real-postings" / "postings.csv")}
    feed = {r["id"]: r for r in _rows(SHARED / "real-feed" / "postings.csv")}
    rows = []
    for lab in _rows(ROOT / "data" / "labels" / "source_validation.csv"):
        p = postings[lab["id"]]
        rows.append((lab, p, SOURCES[p["source_repo"]], p["title_label"]))
    for lab in _rows(ROOT / "data" / "labels" / "real_feed_sample.csv"):
        if lab["split"] == "test":
            rows.append((lab, feed[lab["id"]], FEED, ""))
    if linkedin:
        texts = {r["id"]: r for r in _rows(Path(linkedin))}
        for lab in _rows(ROOT / "data" / "labels" / "linkedin_validation.csv"):
            rows.append((lab, texts[lab["id"]], lab["source"], ""))
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source", "title", "company", "description", "label", "title_label"])
        for lab, p, source, title_label in rows:
            w.writerow(
                [
                    lab["id"],
                    source,
                    p["title"],
                    p["company"],
                    p["description"],
                    lab["label"],
                    title_label,
                ]
            )
    print(f"wrote {len(rows)} expert-labelled validation postings to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="validation.csv")
    parser.add_argument("--linkedin", default=None, help="linkedin2's rebuilt CSV (optional)")
    args = parser.parse_args()
    main(args.out, args.linkedin)
