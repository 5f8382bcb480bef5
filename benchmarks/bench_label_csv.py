"""Benchmark ``label-csv``: end-to-end rows/s against the backbone's own forward, and peak RSS.

Run from the repository root:

    .venv/bin/python benchmarks/bench_label_csv.py --rows 300 --rss-rows 2000,10000   # ~1-2 min
    .venv/bin/python benchmarks/bench_label_csv.py                                  # full

1. **Throughput** (``--model``, default ``zero-shot``: the bundled all-MiniLM-L6-v2 backbone).
   ``label_csv`` runs file to file on ``--rows`` synthetic rows; then the physical floor is timed:
   ``Encoder.embed_ids`` alone on exactly the title and window id lists that ``encode`` embeds
   for the same chunks, batched the same way. The ratio floor/end-to-end is how much of the run
   is the backbone (target >= 0.85). Each is timed ``--repeats`` times; the best counts.
2. **Peak RSS** (``--rss-model``, default ``tiny``: a random 2-layer, 32-wide BERT built here,
   zero-shot, fixture-like windows, on the ads of at most ``--rss-max-chars`` characters, so
   100,000 rows take minutes on a CPU). ``label-csv`` runs in a subprocess per
   size and its max RSS is read with ``getrusage(RUSAGE_CHILDREN)`` (target: flat, <= 1.5 GB).

The rows repeat this repository's own ``data/samples`` ads (never ``shared/`` data).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from role_classifier import ModelConfig, RoleClassifier
from role_classifier.labelling import label_csv
from role_classifier.text import clean_text, split_title
from role_classifier.threads import default_workers, thread_limits

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def sample_postings() -> list[tuple[str, str]]:
    """(title, description) pairs from data/samples: the unlabeled CSV and the pasted ads."""
    out = []
    for path in sorted(SAMPLES.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if (row.get("description") or "").strip():
                    out.append((row.get("title") or "", row["description"]))
    for path in sorted(SAMPLES.glob("*.txt")):
        title, body = split_title(path.read_text(encoding="utf-8"))
        out.append((title or "", body))
    if not out:
        sys.exit(f"no sample postings found under {SAMPLES}")
    return out


def write_csv(path: Path, rows: int, postings: list[tuple[str, str]]) -> None:
    """Write ``rows`` rows cycling through ``postings`` (streamed, so any size fits)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "description"])
        for i in range(rows):
            title, body = postings[i % len(postings)]
            w.writerow([f"r{i}", title, body])


def build_tiny_model(root: Path) -> Path:
    """A zero-shot model dir on a random 2-layer, 32-wide BERT with 32-token windows, at most 8
    per ad (the settings of tests/conftest.py)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    backbone = root / "tiny-bert"
    backbone.mkdir(parents=True, exist_ok=True)
    words = (
        "the a an and or of to in for with on at by we you our your is are be will build run "
        "train deploy model models machine learning ml ai engineer research llm data pipeline "
        "production python pytorch kubernetes serving rag vector database api team"
    ).split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab += [f"##{c}" for c in string.ascii_lowercase + string.digits] + sorted(set(words))
    (backbone / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(backbone / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(str(backbone))
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(cfg).save_pretrained(str(backbone))
    model_dir = root / "tiny-model"
    config = ModelConfig(backbone=str(backbone), window_tokens=32, max_windows=8)
    RoleClassifier(config=config).save_pretrained(model_dir)
    return model_dir


def floor_inputs(clf: RoleClassifier, postings: list[tuple[str, str]], batch_size: int) -> list:
    """Per chunk: the title ids and window ids that ``RoleClassifier.encode`` embeds."""
    enc = clf.encoder
    chunks = []
    for start in range(0, len(postings), batch_size):
        part = postings[start : start + batch_size]
        titles = [clean_text(t).replace("\n", " ") for t, _ in part]
        titles = [t for t in titles if t]
        title_ids = enc.tokenize(titles) if titles else []
        title_ids = [ids[: enc.window_tokens - 2] for ids in title_ids]
        windows = enc.windows_many([clean_text(d) for _, d in part])
        chunks.append((title_ids, [w for doc in windows for w in doc.ids]))
    return chunks


def time_floor(clf: RoleClassifier, chunks: list) -> float:
    t0 = time.perf_counter()
    for title_ids, window_ids in chunks:
        clf.encoder.embed_ids(title_ids)
        clf.encoder.embed_ids(window_ids)
    return time.perf_counter() - t0


def throughput(args: argparse.Namespace, work: Path, postings: list[tuple[str, str]]) -> None:
    rows = [postings[i % len(postings)] for i in range(args.rows)]
    src = work / "throughput.csv"
    write_csv(src, args.rows, postings)
    clf = RoleClassifier.from_pretrained(args.model, backend=args.backend)
    t0 = time.perf_counter()
    with thread_limits(args.workers) as threads:
        clf.predict_proba(["warm-up: load the backbone and embed the role prototypes."])
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks = floor_inputs(clf, rows, args.batch_size)
    prep_s = time.perf_counter() - t0
    n_windows = sum(len(w) for _, w in chunks)
    n_titles = sum(len(t) for t, _ in chunks)
    e2e, floor = [], []
    for _ in range(args.repeats):
        s = label_csv(
            src,
            work / "throughput_out.csv",
            text_column="description",
            title_column="title",
            model=clf,
            batch_size=args.batch_size,
            workers=args.workers,
        )
        assert s.rows == s.rows_written == args.rows, s
        e2e.append(s.seconds)
        with thread_limits(args.workers):
            floor.append(time_floor(clf, chunks))
    best_e2e, best_floor = min(e2e), min(floor)
    print(f"\n[1] throughput, model: {args.model} ({describe(clf)})")
    print(
        f"    {args.rows} rows, {n_titles} titles + {n_windows} windows, "
        f"batch-size {args.batch_size}, backend {args.backend}, {threads} threads, "
        f"best of {args.repeats}"
    )
    print(f"    one-time model load + prototypes (not in the figures): {load_s:.1f} s")
    print(f"    label-csv end to end  : {args.rows / best_e2e:8.2f} rows/s  ({best_e2e:.2f} s)")
    print(f"    backbone embed_ids    : {args.rows / best_floor:8.2f} rows/s  ({best_floor:.2f} s)")
    print(f"    ratio floor/e2e       : {best_floor / best_e2e:8.3f}  (target >= 0.85)")
    print(
        f"    cleaning + tokenising : {prep_s:8.2f} s  ({prep_s / best_floor:.1%} of the forward)"
    )
    if args.repeats > 1:
        print(f"    all runs e2e {fmt_list(e2e)} s, floor {fmt_list(floor)} s")


def peak_rss(args: argparse.Namespace, work: Path, postings: list[tuple[str, str]]) -> None:
    model = str(build_tiny_model(work)) if args.rss_model == "tiny" else args.rss_model
    name = "tiny random BERT (2 layers, 32 wide), zero-shot" if args.rss_model == "tiny" else model
    short = [(t, d) for t, d in postings if len(d) <= args.rss_max_chars] or postings
    print(f"\n[2] peak RSS of label-csv in a subprocess, model: {name}")
    print(f"    {len(short)} distinct ads of at most {args.rss_max_chars} characters, repeated")
    measure = (
        "import resource, subprocess, sys, json, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); "
        "print(json.dumps({'rc': r.returncode, 'seconds': time.perf_counter() - t, "
        "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    results = []
    for n in args.rss_rows:
        src = work / f"rss_{n}.csv"
        write_csv(src, n, short)
        cmd = [
            sys.executable,
            "-m",
            "role_classifier",
            "label-csv",
            str(src),
            str(work / f"rss_{n}_out.csv"),
            "--text-column",
            "description",
            "--title-column",
            "title",
            "--model",
            model,
            "--batch-size",
            str(args.batch_size),
        ]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        out = subprocess.run(
            [sys.executable, "-c", measure, *cmd], capture_output=True, text=True, check=False
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        if res["rc"] != 0:
            sys.exit(f"label-csv failed on {n} rows:\n{out.stderr[-2000:]}")
        mb = res["maxrss_kb"] / 1024
        size = src.stat().st_size / 1e6
        print(
            f"    {n:>9,} rows ({size:7.1f} MB CSV): peak RSS {mb:7.0f} MB, "
            f"{n / res['seconds']:8.1f} rows/s incl. start-up ({res['seconds']:.1f} s)"
        )
        results.append(mb)
        src.unlink()
    if len(results) > 1:
        print(
            f"    growth from {args.rss_rows[0]:,} to {args.rss_rows[-1]:,} rows: "
            f"{results[-1] - results[0]:+.0f} MB (target: flat, <= 1.5 GB)"
        )


def describe(clf: RoleClassifier) -> str:
    c = clf.config
    backbone = "all-MiniLM-L6-v2" if c.backbone == "bundled" else c.backbone
    head = "zero-shot" if clf.is_zero_shot else "trained head"
    return f"{backbone}, {head}, window {c.window_tokens}, encoder batch {c.batch_size}"


def fmt_list(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=2000, help="rows for the throughput run")
    p.add_argument("--model", default="zero-shot", help="model for the throughput run")
    p.add_argument("--backend", default="onnx", help="onnx or torch, for the throughput run")
    p.add_argument("--rss-rows", default="10000,100000", help="comma-separated sizes for RSS")
    p.add_argument("--rss-model", default="tiny", help="'tiny' or a model for the RSS runs")
    p.add_argument("--rss-max-chars", type=int, default=1500, help="longest ad in RSS runs")
    p.add_argument("--batch-size", type=int, default=64, help="label-csv --batch-size")
    p.add_argument("--workers", type=int, default=None, help="label-csv --workers")
    p.add_argument("--repeats", type=int, default=1, help="timings per figure (best counts)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-rss", action="store_true")
    args = p.parse_args()
    args.rss_rows = [int(x) for x in args.rss_rows.split(",") if x.strip()]
    postings = sample_postings()
    print(
        f"label-csv benchmark: {platform.processor() or platform.machine()}, "
        f"{default_workers()} threads by default, "
        f"{len(postings)} distinct sample ads"
    )
    with tempfile.TemporaryDirectory(prefix="bench-label-csv-") as tmp:
        if not args.skip_throughput:
            throughput(args, Path(tmp), postings)
        if not args.skip_rss:
            peak_rss(args, Path(tmp), postings)


if __name__ == "__main__":
    main()
