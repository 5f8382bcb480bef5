"""Benchmark ``label-csv``'s formats: the cost of each output and input format, and of resuming.

Run from the repository root:

    .venv/bin/python benchmarks/bench_formats.py --rows 10000            # tiny model, ~5 min
    .venv/bin/python benchmarks/bench_formats.py --rows 300 --model default --skip-inputs

1. **Outputs.** The same CSV input labelled to ``.csv``, ``.jsonl``, ``.parquet`` and ``.xlsx``
   (best of ``--repeats``). For Parquet, the part files (one per ``--batch-size`` chunk) and
   the time :meth:`.fileio.ParquetParts.join` takes to join them into OUTPUT are reported.
2. **Inputs.** The same rows as ``.csv``, ``.csv.gz``, ``.jsonl``, ``.jsonl.gz``, ``.parquet``
   and ``.xlsx``, labelled to ``.csv``.
3. **Resume.** A run stopped half-way (after half its chunks) and resumed, against an
   uninterrupted one, for CSV and Parquet output; the outputs must be byte-identical.
0. **I/O alone**, no model: each input read through, each output written chunk by chunk with
   the fsync a checkpoint does (Parquet: its part files, then the join, against one stream).

``--model tiny`` (default) is the random 2-layer, 32-wide BERT of the tests (built here), so
the model's share is small and the formats' cost shows; ``--model default`` is the shipped one.
The rows repeat this repository's own ``data/samples`` ads.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from bench_label_csv import build_tiny_model, sample_postings, write_csv

from role_classifier import RoleClassifier
from role_classifier import io as fileio
from role_classifier.labelling import label_csv
from role_classifier.threads import default_workers


class _Stop(Exception):
    pass


def _run(src: Path, out: Path, clf: RoleClassifier, args: argparse.Namespace, **kw: Any) -> float:
    leftovers = (out, Path(f"{out}.partial"), Path(f"{out}.partial.json"))
    for leftover in () if kw.get("resume") else leftovers:  # a fresh run: nothing left over
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    t0 = time.perf_counter()
    label_csv(
        src,
        out,
        text_column="description",
        title_column="title",
        model=clf,
        batch_size=args.batch_size,
        workers=args.workers,
        **kw,
    )
    return time.perf_counter() - t0


def _best(n: int, run: Any) -> float:
    return min(run() for _ in range(n))


def outputs(work: Path, src: Path, clf: RoleClassifier, args: argparse.Namespace) -> None:
    print(f"\n[1] outputs: {args.rows:,} rows of {src.name} ({src.stat().st_size / 1e6:.1f} MB)")
    joins: list[tuple[int, float]] = []
    real_join = fileio.ParquetParts.join

    def timed_join(self: fileio.ParquetParts, dest: Path) -> int:
        t0 = time.perf_counter()
        rows = real_join(self, dest)
        joins.append((self.parts, time.perf_counter() - t0))
        return rows

    fileio.ParquetParts.join = timed_join  # type: ignore[method-assign]
    try:
        base = None
        for suffix in ("csv", "jsonl", "parquet", "xlsx"):
            out = work / f"out.{suffix}"
            seconds = _best(args.repeats, lambda out=out: _run(src, out, clf, args))
            base = base or seconds
            size = out.stat().st_size / 1e6
            print(
                f"    .{suffix:<8} {seconds:7.2f} s  {args.rows / seconds:8.0f} rows/s  "
                f"x{seconds / base:5.2f} of .csv  {size:7.1f} MB"
            )
            if suffix == "parquet":
                parts, join_s = joins[-1]
                groups = pq.ParquetFile(out).metadata.num_row_groups
                print(
                    f"              {parts} part files joined in {join_s:.2f} s "
                    f"({join_s / seconds:.1%} of the run) into {groups} row groups"
                )
    finally:
        fileio.ParquetParts.join = real_join  # type: ignore[method-assign]


def input_files(work: Path, src: Path) -> dict[str, Path]:
    """The rows of ``src`` as every input format (written once, next to it)."""
    table = pacsv.read_csv(src, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in table.to_pylist())
    files = {"csv": src}
    files["csv.gz"] = work / "in.csv.gz"
    files["jsonl"] = work / "in.jsonl"
    files["jsonl.gz"] = work / "in.jsonl.gz"
    files["parquet"] = work / "in.parquet"
    if files["parquet"].exists():
        files.update({"xlsx": work / "in.xlsx"} if (work / "in.xlsx").exists() else {})
        return files
    files["csv.gz"].write_bytes(gzip.compress(src.read_bytes()))
    files["jsonl"].write_text(lines, "utf-8")
    files["jsonl.gz"].write_bytes(gzip.compress(lines.encode("utf-8")))
    pq.write_table(table, files["parquet"], row_group_size=4096)
    try:
        from openpyxl import Workbook
    except ImportError:
        print("    (openpyxl is not installed: no .xlsx input)")
        return files
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(table.column_names)
    for row in table.to_pylist():
        sheet.append(list(row.values()))
    files["xlsx"] = work / "in.xlsx"
    book.save(files["xlsx"])
    return files


def inputs(work: Path, src: Path, clf: RoleClassifier, args: argparse.Namespace) -> None:
    files = input_files(work, src)
    print(f"\n[2] inputs: {args.rows:,} rows, each labelled to .csv")
    base = None
    for name, path in files.items():
        seconds = _best(args.repeats, lambda path=path: _run(path, work / "from.csv", clf, args))
        base = base or seconds
        size = path.stat().st_size / 1e6
        print(
            f"    .{name:<8} {seconds:7.2f} s  {args.rows / seconds:8.0f} rows/s  "
            f"x{seconds / base:5.2f} of .csv  {size:7.1f} MB"
        )


def _stop_after(n_chunks: int) -> Any:
    calls: list[int] = []

    def stop(done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) > n_chunks:  # the first call is the start
            raise _Stop

    return stop


def resume(work: Path, src: Path, clf: RoleClassifier, args: argparse.Namespace) -> None:
    chunks = -(-args.rows // args.batch_size)
    print(f"\n[3] resume: stopped after {chunks // 2} of {chunks} chunks, then --resume")
    for suffix in ("csv", "parquet"):
        clean = work / f"clean.{suffix}"
        whole = _run(src, clean, clf, args)
        out = work / f"resumed.{suffix}"
        t0 = time.perf_counter()
        try:
            _run(src, out, clf, args, progress=_stop_after(chunks // 2))
        except _Stop:
            pass
        first = time.perf_counter() - t0
        second = _run(src, out, clf, args, resume=True)
        assert not Path(f"{out}.partial.json").exists()
        same = out.read_bytes() == clean.read_bytes()
        print(
            f"    .{suffix:<8} uninterrupted {whole:6.2f} s; stopped {first:6.2f} s + resumed "
            f"{second:6.2f} s = x{(first + second) / whole:4.2f}; byte-identical: {same}"
        )


def io_only(work: Path, src: Path, args: argparse.Namespace) -> None:
    """Reading and writing alone, no model: each input read through, each output written
    chunk by chunk with what a checkpoint commit does (fsync; parquet: one part per chunk)."""
    from role_classifier import io as fileio

    with fileio.open_input(src) as reader:
        header = reader.header
        rows = [r.cells for r in reader]
    added = ["predicted_role", "confidence", "review", "error"]
    types = ["value"] * len(header) + ["string", "float", "string", "string"]
    labelled = [r + ["ML Engineer", 0.8123, "auto", None] for r in rows]
    chunks = [labelled[i : i + args.batch_size] for i in range(0, len(labelled), args.batch_size)]
    print(f"\n[0] I/O alone (no model): {len(rows):,} rows, {len(chunks)} chunks")
    for suffix in ("csv", "csv.gz", "jsonl", "jsonl.gz", "xlsx"):
        out = work / f"io.{suffix}"
        t0 = time.perf_counter()
        with open(out, "wb") as f:
            fmt, gzipped = suffix.removesuffix(".gz"), suffix.endswith(".gz")
            writer = fileio.RowWriter(f, fmt, header + added, types, gzipped=gzipped)
            writer.write_header()
            for chunk in chunks:
                writer.write(chunk)
                fileio.fsync(f)
            writer.close()
            fileio.fsync(f)
        seconds, size = time.perf_counter() - t0, out.stat().st_size / 1e6
        print(f"    write .{suffix:<8} {seconds:6.2f} s  ({size:.1f} MB)")
    folder = work / "io.parquet.partial"
    shutil.rmtree(folder, ignore_errors=True)
    parts = fileio.ParquetParts(folder, header + added, types)
    t0 = time.perf_counter()
    parts.open(0)
    for chunk in chunks:
        parts.write(chunk)
    written = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    t0 = time.perf_counter()
    parts.join(work / "io.parquet")
    joined = time.perf_counter() - t0
    one = work / "one.parquet"
    t0 = time.perf_counter()
    with open(one, "wb") as f:
        writer = fileio.RowWriter(f, "parquet", header + added, types)
        writer.write_header()
        for chunk in chunks:
            writer.write(chunk)
        writer.close()
    single = time.perf_counter() - t0
    print(
        f"    write .parquet  {written + joined:6.2f} s = {parts.parts} parts {written:.2f} s "
        f"({size:.1f} MB) + join {joined:.2f} s ({(work / 'io.parquet').stat().st_size / 1e6:.1f}"
        f" MB); one stream, no resume: {single:.2f} s"
    )
    for path in input_files(work, src).values():
        t0 = time.perf_counter()
        with fileio.open_input(path) as reader:
            n = sum(1 for _ in reader)
        print(f"    read  {path.name:<12} {time.perf_counter() - t0:6.2f} s  ({n:,} records)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--model", default="tiny", help="'tiny' (built here) or a model name/dir")
    p.add_argument("--backend", default="torch", help="onnx or torch (tiny: torch)")
    p.add_argument("--batch-size", type=int, default=64, help="label-csv --batch-size")
    p.add_argument("--workers", type=int, default=1, help="label-csv --workers")
    p.add_argument("--repeats", type=int, default=2, help="timings per figure (best counts)")
    p.add_argument("--skip-outputs", action="store_true")
    p.add_argument("--skip-inputs", action="store_true")
    p.add_argument("--skip-resume", action="store_true")
    args = p.parse_args()
    print(
        f"label-csv formats benchmark: {platform.processor() or platform.machine()}, "
        f"{default_workers()} cores, --workers {args.workers}, --batch-size {args.batch_size}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        work = Path(tmp)
        src = work / "in.csv"
        write_csv(src, args.rows, sample_postings())
        io_only(work, src, args)
        if args.skip_outputs and args.skip_inputs and args.skip_resume:
            return
        model = str(build_tiny_model(work)) if args.model == "tiny" else args.model
        clf = RoleClassifier.from_pretrained(model, backend=args.backend)
        _run(src, work / "warm.csv", clf, args)  # load the backbone, fill caches
        if not args.skip_outputs:
            outputs(work, src, clf, args)
        if not args.skip_inputs:
            inputs(work, src, clf, args)
        if not args.skip_resume:
            resume(work, src, clf, args)


if __name__ == "__main__":
    sys.exit(main())
