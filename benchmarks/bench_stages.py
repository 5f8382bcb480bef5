"""Where the time of labelling goes, stage by stage, on real feed ads.

For ``--rows`` postings of a CSV (by default the real feed next to the repository, which is not in
it), one pass per stage in the order ``label-csv`` runs them, each timed on its own: read the CSV,
clean the text, split sentences, tag sections (the duty reader, when the model reads duties),
tokenise, the forward pass (int8 ONNX, the windows of every ad), the head (features, logits,
calibrated probabilities, decisions), the evidence sentences (``classify`` shows them; ``label-csv``
computes them only with ``--evidence N``, so its default run is the total without them), and
writing the output CSV (the
stages of ``modeling.scoring.Scoring._encode`` and ``classify``, called one by one so each can be
timed: keep them in step when those change). It
prints seconds and shares per stage, windows per ad and rows a second, so a change can be judged by
what it moves (compare shares and ratios within a run; this machine is shared).

    python benchmarks/bench_stages.py --rows 100
    python benchmarks/bench_stages.py --rows 100 -m default -m models/mine --input feed.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

import numpy as np

from role_classifier import RoleClassifier
from role_classifier.modeling.scoring import Encoded
from role_classifier.sections import read_duties
from role_classifier.text import clean_text

FEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-feed" / "postings.csv"


def stages(clf: RoleClassifier, path: Path, rows: int) -> dict[str, float]:
    """Seconds per stage for the first ``rows`` postings of ``path`` (title, description)."""
    t: dict[str, float] = {}
    start = time.perf_counter()
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        table = [r for _, r in zip(range(rows), csv.DictReader(f))]
    t["read"] = time.perf_counter() - start

    start = time.perf_counter()
    titles = [clean_text(r.get("title") or "").replace("\n", " ") for r in table]
    bodies = [clean_text(r["description"] or "") for r in table]
    t["clean"] = time.perf_counter() - start

    enc = clf.encoder
    start = time.perf_counter()
    sents, cut = enc.split_many(bodies)
    t["split"] = time.perf_counter() - start

    notes: list[str | None] = [None] * len(bodies)
    start = time.perf_counter()
    if clf.config.read == "duties":
        sents, notes = read_duties(clf.section_reader, sents)
    t["sections"] = time.perf_counter() - start

    start = time.perf_counter()
    windows = enc.pack_many(sents, cut)
    title_ids = enc.tokenize([x for x in titles if x])
    t["tokenise"] = time.perf_counter() - start

    start = time.perf_counter()
    win_emb = enc.embed_windows(windows)
    title_emb = enc.embed_ids([i[: enc.window_tokens - 2] for i in title_ids])
    t["forward"] = time.perf_counter() - start

    start = time.perf_counter()
    bodies_read = ["\n".join(s) for s in sents]
    encoded = [
        Encoded(None, e, w.sentences, clf.lexical(ti, b), w.truncated, n)
        for e, w, ti, b, n in zip(win_emb, windows, titles, bodies_read, notes)
    ]
    k = 0
    for e, ti in zip(encoded, titles):
        if ti:
            e.title, k = title_emb[k], k + 1
    proba = clf.proba_from_encoded(encoded)
    labels = clf.decide(proba)
    t["head"] = time.perf_counter() - start

    start = time.perf_counter()
    clf.evidence(encoded, labels, proba, 3)
    t["evidence"] = time.perf_counter() - start

    start = time.perf_counter()
    out = io.StringIO()
    w = csv.writer(out)
    for r, label, p in zip(table, labels, proba):
        w.writerow([*r.values(), clf.labels[label], f"{p.max():.4f}"])
    t["write"] = time.perf_counter() - start
    t["_windows_per_ad"] = float(np.mean([len(x) for x in windows]))
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=FEED, help="a CSV with title, description")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("-m", "--model", action="append", help="repeatable; default: default")
    opts = parser.parse_args()
    for name in opts.model or ["default"]:
        clf = RoleClassifier.from_pretrained(name)
        clf.predict("warm up: load the encoder and the role embeddings")
        t = stages(clf, opts.input, opts.rows)
        windows = t.pop("_windows_per_ad")
        total = sum(t.values())
        plain = total - t["evidence"]  # label-csv computes evidence only with --evidence N
        print(
            f"{name} (reads {clf.config.read}): {opts.rows} ads, {windows:.1f} windows an ad, "
            f"{total:.1f} s, {opts.rows / total:.1f} rows/s with evidence; without it (label-csv's "
            f"default) {plain:.1f} s, {opts.rows / plain:.1f} rows/s, the forward "
            f"{100 * t['forward'] / plain:.0f}% of it"
        )
        for stage, sec in t.items():
            print(f"  {stage:<9} {sec:7.2f} s  {100 * sec / total:5.1f}%")


if __name__ == "__main__":
    main()
