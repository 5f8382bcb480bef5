"""Loopback load test of ``role-classifier serve`` against ``label-csv`` on the same ads.

Run from the repository root (bounded: a fixed count of requests, each phase with a deadline):

    .venv/bin/python benchmarks/bench_serve.py                          # default model, 400 requests
    .venv/bin/python benchmarks/bench_serve.py --requests 200 --model zero-shot

1. Starts ``role-classifier serve`` on 127.0.0.1 (a free port) and waits for ``/healthz``.
2. **Single client**: one ad (``data/samples/ad_ai_engineer.txt``), warm, ``--single`` requests one
   after another to ``POST /v1/classify`` with evidence (the default): p50 latency.
3. **label-csv marginal cost** of that same ad, in this process with the same model: time for a CSV
   of 41 copies minus time for 1, over 40 (best of ``--repeats``). Target: single p50 <= 2.5x.
4. **8 clients** (``--clients``): ``--requests`` requests over this repository's sample ads, sent
   concurrently: p50/p95/p99 latency, requests/s, errors (must be 0), once with evidence (the API's
   default) and once with ``evidence: 0`` (what label-csv computes).
5. **label-csv rows/s** on exactly the same ads (same order). Target: 8-client requests/s >=
   0.8x label-csv rows/s.
6. The server's RSS sampled through the run, and its peak (VmHWM): memory should stay flat.

All figures come from one run, so compare ratios, not absolute numbers, on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_label_csv import sample_postings, write_csv  # noqa: E402

from role_classifier import RoleClassifier  # noqa: E402
from role_classifier.labelling import label_csv  # noqa: E402
from role_classifier.text import split_title  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ONE_AD = ROOT / "data" / "samples" / "ad_ai_engineer.txt"


class Server:
    """The serve command in a subprocess; its log lines collected."""

    def __init__(self, args: list[str], timeout: float = 600.0) -> None:
        cmd = [sys.executable, "-m", "role_classifier", "serve", "--port", "0", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", 120).group(1)
        self._wait(r"model .* ready in", timeout)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _wait(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            time.sleep(0.05)
        self.proc.kill()
        sys.exit("the server did not start:\n" + "\n".join(self.lines[-30:]))

    def memory_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MB, from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        return rss, hwm

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(60)


def percentiles(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def load(
    url: str, bodies: list[dict], clients: int, deadline_s: float, server: Server
) -> dict[str, object]:
    """Send ``bodies`` from ``clients`` threads (each takes the next body); latencies and errors."""
    lock = threading.Lock()
    nxt = iter(range(len(bodies)))
    latencies: list[float] = []
    errors: list[str] = []
    rss: list[float] = []
    stop = time.monotonic() + deadline_s

    def client() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while time.monotonic() < stop:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    r = http.post("/v1/classify", json=bodies[i])
                    ok = r.status_code == 200
                    why = f"{r.status_code} {r.text[:100]}"
                except httpx.HTTPError as exc:
                    ok, why = False, repr(exc)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    (latencies.append(ms) if ok else errors.append(why))

    def sample_rss() -> None:
        while any(t.is_alive() for t in threads):
            rss.append(server.memory_mb()[0])
            time.sleep(0.5)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    sampler = threading.Thread(target=sample_rss)
    sampler.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    sampler.join()
    quarter = max(1, len(rss) // 4)
    return {
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds, 2),
        **percentiles(latencies or [0.0]),
        "rss_mb_first_quarter_max": round(max(rss[:quarter], default=0), 1),
        "rss_mb_last_quarter_max": round(max(rss[-quarter:], default=0), 1),
    }


def label_csv_seconds(clf: RoleClassifier, rows: list[tuple[str, str]], repeats: int) -> float:
    """Best wall time of label_csv on a CSV of ``rows`` (title, description)."""
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        write_csv(src, len(rows), rows)
        for _ in range(repeats):
            out.unlink(missing_ok=True)
            t = time.perf_counter()
            label_csv(src, out, text_column="description", title_column="title", model=clf)
            best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--backend", default="onnx")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--single", type=int, default=30, help="single-client requests timed")
    p.add_argument("--repeats", type=int, default=2, help="label-csv timings (best counts)")
    p.add_argument("--deadline", type=float, default=600, help="seconds per load phase at most")
    args = p.parse_args()

    extra = ["--model", args.model, "--backend", args.backend]
    if args.workers:
        extra += ["--workers", str(args.workers)]
    t = time.perf_counter()
    server = Server(extra)
    startup = time.perf_counter() - t
    rss_start = server.memory_mb()[0]
    result: dict[str, object] = {"model": args.model, "backend": args.backend}
    result["startup_s_to_ready"] = round(startup, 1)
    try:
        title, body = split_title(ONE_AD.read_text(encoding="utf-8"))
        one = {"text": body, "title": title}
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for _ in range(5):  # warm
                assert http.post("/v1/classify", json=one).status_code == 200
            single = []
            for _ in range(args.single):
                t = time.perf_counter()
                r = http.post("/v1/classify", json=one)
                single.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
        result["single_client"] = percentiles(single)

        postings = sample_postings()
        ads = [postings[i % len(postings)] for i in range(args.requests)]
        bodies = [{"text": d, "title": t or None} for t, d in ads]
        result["clients_8_with_evidence"] = load(
            server.url, bodies, args.clients, args.deadline, server
        )
        bodies0 = [{**b, "evidence": 0} for b in bodies]
        result["clients_8_no_evidence"] = load(
            server.url, bodies0, args.clients, args.deadline, server
        )
        health = httpx.get(f"{server.url}/healthz").json()
        result["batching"] = health["batching"]
        rss_end, peak = server.memory_mb()
        result["server_rss_mb"] = {
            "after_start": round(rss_start, 1),
            "end": round(rss_end, 1),
            "peak": round(peak, 1),
        }
    finally:
        result["server_exit"] = server.stop()

    clf = RoleClassifier.from_pretrained(args.model, backend=args.backend)
    label_csv_seconds(clf, [(title or "", body)], 1)  # load and warm the model
    t1 = label_csv_seconds(clf, [(title or "", body)], args.repeats)
    t41 = label_csv_seconds(clf, [(title or "", body)] * 41, args.repeats)
    marginal_ms = (t41 - t1) / 40 * 1000
    t_all = label_csv_seconds(clf, ads, 1)
    result["label_csv"] = {
        "one_ad_marginal_ms": round(marginal_ms, 1),
        "rows_per_s": round(len(ads) / t_all, 2),
    }
    single_p50 = result["single_client"]["p50"]  # type: ignore[index]
    rps = result["clients_8_with_evidence"]["requests_per_s"]  # type: ignore[index]
    rps0 = result["clients_8_no_evidence"]["requests_per_s"]  # type: ignore[index]
    csv_rps = result["label_csv"]["rows_per_s"]  # type: ignore[index]
    result["ratios"] = {
        "single_p50_over_label_csv_marginal (target <= 2.5)": round(single_p50 / marginal_ms, 2),
        "clients_8_rps_over_label_csv (with evidence; target >= 0.8)": round(rps / csv_rps, 2),
        "clients_8_rps_over_label_csv (evidence 0, like label-csv)": round(rps0 / csv_rps, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
