"""The per-source validation table: how well a model reads each source, against expert readers.

The rows are the project's expert validation labels (``scripts/join_validation.py`` joins them
with their text, which stays outside the repository): per source, accuracy, macro-F1, ECE, and
the ``auto`` review band's share of rows and precision, read with the titles and from the
description alone, then pooled over the sources (every source weighed by its rows). Several
models are measured on the same rows, side by side.

    python scripts/join_validation.py /tmp/validation.csv
    python benchmarks/bench_sources.py /tmp/validation.csv                       # the default
    python benchmarks/bench_sources.py /tmp/validation.csv -m default -m models/mine --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from role_classifier import Posting, RoleClassifier
from role_classifier.evaluation.metrics import expected_calibration_error


def source_table(
    clf: RoleClassifier, rows: Sequence[dict[str, str]], with_titles: bool
) -> dict[str, dict[str, Any]]:
    """Metrics per source and pooled (``all``) for one model and one view."""
    postings = [
        Posting(description=r["description"], title=(r["title"] or None) if with_titles else None)
        for r in rows
    ]
    preds = clf.classify(postings, evidence=0)
    index = {label: i for i, label in enumerate(clf.labels)}
    y = np.array([index[r["label"]] for r in rows])
    pred = np.array([index[p.label] for p in preds])
    conf = np.array([p.confidence for p in preds])
    auto = np.array([p.review == "auto" for p in preds])
    sources = np.array([r["source"] for r in rows])
    out = {}
    for source in [*dict.fromkeys(sources.tolist()), "all"]:
        m = np.ones(len(rows), bool) if source == "all" else sources == source
        right = pred[m] == y[m]
        present = sorted(set(y[m].tolist()))
        out[source] = {
            "n": int(m.sum()),
            "accuracy": float(right.mean()),
            "macro_f1": float(
                f1_score(y[m], pred[m], labels=present, average="macro", zero_division=0)
            ),
            "ece": expected_calibration_error(conf[m], right),
            "auto_share": float(auto[m].mean()),
            "auto_precision": float(right[auto[m]].mean()) if auto[m].any() else None,
        }
    return out


def render(name: str, view: str, table: dict[str, dict[str, Any]]) -> str:
    """A markdown table of :func:`source_table`."""
    lines = [
        f"{name}, {view}",
        "",
        "| source | n | accuracy | macro-F1 | ECE | auto share | auto precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for source, m in table.items():
        precision = "-" if m["auto_precision"] is None else f"{m['auto_precision']:.3f}"
        lines.append(
            f"| {source} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
            f"{m['ece']:.3f} | {m['auto_share']:.2f} | {precision} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the joined validation CSV (scripts/join_validation.py)")
    parser.add_argument("-m", "--model", action="append", help="repeatable; default: default")
    parser.add_argument("--json", help="write every table here as JSON")
    opts = parser.parse_args()
    csv.field_size_limit(1 << 30)
    with open(opts.data, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    results: dict[str, Any] = {}
    for name in opts.model or ["default"]:
        clf = RoleClassifier.from_pretrained(name)
        for view, with_titles in (("with titles", True), ("description only", False)):
            start = time.perf_counter()
            table = source_table(clf, rows, with_titles)
            seconds = time.perf_counter() - start
            results[f"{name} / {view}"] = table
            print(render(name, view, table))
            print(f"\n({len(rows)} postings in {seconds:.1f} s)\n")
    if opts.json:
        with open(opts.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
