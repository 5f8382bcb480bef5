"""Benchmark ``label-csv --engine ray`` against ``--engine local`` on the same rows, one run.

Run from the repository root (needs the ``ray`` extra; ~2-3 minutes on 2 cores):

    .venv/bin/python benchmarks/bench_ray.py                  # 400 rows, default model, onnx
    .venv/bin/python benchmarks/bench_ray.py --rows 100 --backend torch

1. **local**: :func:`label_csv` with the model loaded beforehand, ``--workers`` threads (default:
   one per core), file to file.
2. **ray**: a local Ray instance is started (its start is timed and printed apart), then
   :func:`label_dataset` with ``--actors`` single-threaded actors on the same CSV. Its time runs
   from the job's start to the checked row count: the input count, actor start-up and model load
   in every actor, labelling, writing the part files and reading the count back.

Prints rows/s of each, their ratio (target here: ray >= 0.8 x local, where Ray can only add
overhead) and the per-core rate of the ray run, from which the README extrapolates to a cluster.
The rows are the first ``--rows`` ads of this repository's ``data/samples/postings.csv``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples" / "postings.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--model", default="default")
    ap.add_argument("--backend", default="onnx", choices=["onnx", "torch"])
    ap.add_argument("--actors", type=int, default=2, help="single-threaded Ray actors")
    ap.add_argument("--workers", type=int, default=None, help="local threads (default: cores)")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()

    from role_classifier import RoleClassifier
    from role_classifier.labelling import label_csv
    from role_classifier.labelling.ray import label_dataset
    from role_classifier.threads import default_workers, thread_limits

    with open(SAMPLES, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for _, r in zip(range(args.rows), reader)]
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    src = work / "in.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    cores = default_workers()
    print(f"{platform.processor() or platform.machine()}, {cores} cores, {len(rows)} rows, "
          f"model {args.model}, backend {args.backend}, batch {args.batch_size}")  # fmt: skip

    clf = RoleClassifier.from_pretrained(args.model, backend=args.backend)
    with thread_limits(args.workers):
        clf.encoder  # loaded (and an ONNX file built) before the clock starts  # noqa: B018
    local = label_csv(
        src,
        work / "local.jsonl",
        text_column="description",
        title_column="title",
        model=clf,
        batch_size=args.batch_size,
        workers=args.workers,
    )
    local_rate = local.rows / local.seconds
    print(f"local: {local.rows} rows in {local.seconds:.1f} s = {local_rate:.1f} rows/s "
          f"({args.workers or cores} threads)")  # fmt: skip
    del clf

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")  # this subprocess only
    import ray

    began = time.perf_counter()
    ray.init(num_cpus=args.actors + 1, include_dashboard=False, log_to_driver=False)
    print(f"ray start: {time.perf_counter() - began:.1f} s (not counted)")
    try:
        remote = label_dataset(
            src,
            work / "ray",
            text_column="description",
            title_column="title",
            model=args.model,
            backend=args.backend,
            workers=1,
            concurrency=args.actors,
            batch_size=args.batch_size,
            output_format="jsonl",
        )
    finally:
        ray.shutdown()
    ray_rate = remote.rows / remote.seconds
    print(f"ray:   {remote.rows} rows in {remote.seconds:.1f} s = {ray_rate:.1f} rows/s "
          f"({args.actors} actors x 1 thread; rows in {remote.rows}, out {remote.rows_written})")  # fmt: skip
    print(f"ratio ray/local: {ray_rate / local_rate:.2f} (target >= 0.8)")
    print(f"ray per-core rate: {ray_rate / args.actors:.1f} rows/s per actor core")
    print(f"outputs under {work}")


if __name__ == "__main__":
    sys.exit(main())
