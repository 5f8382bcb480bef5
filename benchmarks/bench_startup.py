"""Start-up time of the command line: wall time of ``role-classifier --help``, median of N runs.

Each run is a fresh process (the console script next to this Python), so it measures what a
user waits for: interpreter start, importing role_classifier.cli, rendering the help.

    python benchmarks/bench_startup.py            # median of 5
    python benchmarks/bench_startup.py --runs 9 -- classify --help
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs to take the median of")
    parser.add_argument("args", nargs="*", default=["--help"], help="arguments (default --help)")
    opts = parser.parse_args()
    script = Path(sys.executable).with_name("role-classifier")
    command = [str(script)] if script.exists() else [shutil.which("role-classifier") or ""]
    command += opts.args
    subprocess.run(command, check=True, capture_output=True)  # warm the file cache once
    times = []
    for _ in range(opts.runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    shown = " ".join(["role-classifier", *opts.args])
    print(
        f"{shown}: median {statistics.median(times):.3f} s over {opts.runs} runs "
        f"(min {min(times):.3f} s, max {max(times):.3f} s)"
    )


if __name__ == "__main__":
    main()
