"""Fit the sentence-section reader on the readers' tags and measure it on held-out postings.

``data/labels/section_tags.csv`` holds, per tagged training posting, the readers' section of every
sentence (``D`` duties and requirements, ``C`` company, ``B`` benefits/legal/how to apply) as
ranges over the model's own sentence split (``scripts/draw_section_tags.py``); the text stays in
``../shared``. Postings tagged twice give the readers' agreement; the first tagging is used.

    python scripts/train_section_reader.py                 # held-out accuracy (5 folds by posting)
    python scripts/train_section_reader.py --save DIR      # and fit on all, save into DIR
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

import numpy as np

from role_classifier.sections import SECTIONS, SectionReader
from role_classifier.text import clean_text, split_sentences

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
TAGS = ROOT / "data" / "labels" / "section_tags.csv"


def expand(ranges: str) -> list[str]:
    """``0-3:C;4-9:D`` -> ['C', 'C', 'C', 'C', 'D', ...]."""
    out: list[str] = []
    for part in ranges.split(";"):
        span, tag = part.split(":")
        start, end = map(int, span.split("-"))
        if start != len(out):
            raise ValueError(f"ranges are not contiguous at {part!r}")
        out += [tag] * (end - start + 1)
    return out


def load() -> tuple[list[str], list[list[str]], list[list[str]], float, int]:
    """Ids, sentences and tags of every tagged posting, and the readers' agreement (and the
    number of sentences it is measured on) where a posting was tagged twice."""
    csv.field_size_limit(1 << 30)
    text = {}
    for name in ("real-postings", "real-feed"):
        with open(SHARED / name / "postings.csv", encoding="utf-8", newline="") as f:
            text.update({r["id"]: r["description"] for r in csv.DictReader(f)})
    first: dict[str, list[str]] = {}
    agree = total = 0
    with open(TAGS, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            tags = expand(r["ranges"])
            if r["id"] in first:
                total += len(tags)
                agree += sum(a == b for a, b in zip(first[r["id"]], tags))
            else:
                first[r["id"]] = tags
    ids, docs, tags = [], [], []
    for i, t in first.items():
        sents = split_sentences(clean_text(text[i]))
        if len(sents) != len(t):
            raise ValueError(f"{i}: {len(t)} tags for {len(sents)} sentences")
        ids.append(i)
        docs.append(sents)
        tags.append(t)
    return ids, docs, tags, agree / max(total, 1), total


def cross_validate(docs: list[list[str]], tags: list[list[str]], folds: int = 5) -> dict:
    """Sentence accuracy, per-section recall and precision, out of fold (folds by posting)."""
    rng = np.random.default_rng(26)
    order = rng.permutation(len(docs))
    pred: dict[int, list[str]] = {}
    for k in range(folds):
        test = set(order[k::folds].tolist())
        train = [i for i in range(len(docs)) if i not in test]
        reader = SectionReader.fit([docs[i] for i in train], [tags[i] for i in train])
        for i in test:
            pred[i] = reader.tag(docs[i])
    pairs = [(t, p) for i in range(len(docs)) for t, p in zip(tags[i], pred[i])]
    out = {"sentences": len(pairs), "accuracy": sum(t == p for t, p in pairs) / len(pairs)}
    for s in SECTIONS:
        tp = sum(t == p == s for t, p in pairs)
        out[f"{s} recall"] = tp / max(sum(t == s for t, _ in pairs), 1)
        out[f"{s} precision"] = tp / max(sum(p == s for _, p in pairs), 1)
    # what reading only D keeps: the share of true duty sentences kept, and of the rest dropped
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", type=Path, help="fit on every tagged posting and save here")
    args = ap.parse_args()
    ids, docs, tags, agreement, n_twice = load()
    counts = Counter(t for ts in tags for t in ts)
    print(f"{len(ids)} tagged postings, {sum(counts.values())} sentences: {dict(counts)}")
    print(f"readers' agreement on {n_twice} sentences tagged twice: {agreement:.3f}")
    for key, value in cross_validate(docs, tags).items():
        print(
            f"  held out: {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}"
        )
    if args.save:
        SectionReader.fit(docs, tags).save(args.save)
        print(f"saved the reader fitted on all {len(ids)} postings to {args.save}")


if __name__ == "__main__":
    main()
