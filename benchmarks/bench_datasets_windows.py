"""Would a ``datasets.Dataset`` speed up training's data preparation? Measures the step it could
take over: cleaning is done, then every description is cut into token windows
(``Encoder.windows_many``), directly or through ``Dataset.map`` (in memory, and with an on-disk
cache written once and re-read). The backbone's forward pass, most of training, is not included.

    python benchmarks/bench_datasets_windows.py --copies 4 --repeats 3

Results and the decision: docs/datasets.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SAMPLES = Path(__file__).parent.parent / "data" / "samples" / "postings.csv"


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of the 450 sample ads")
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()

    import datasets

    from role_classifier.encoders.torch_backend import TorchEncoder
    from role_classifier.text import clean_text

    datasets.disable_progress_bars()
    enc = TorchEncoder()
    with SAMPLES.open(encoding="utf-8") as f:
        texts = [clean_text(row["description"]) for row in csv.DictReader(f)] * opts.copies

    def direct() -> list[list[list[int]]]:
        return [w.ids for w in enc.windows_many(texts)]

    def windows(batch: dict[str, list[str]]) -> dict[str, list]:
        return {"ids": [w.ids for w in enc.windows_many(batch["text"])]}

    def via_dataset(cache: str | None = None) -> list:
        data = datasets.Dataset.from_dict({"text": texts})
        kwargs = {"cache_file_name": cache} if cache else {}
        out = data.map(windows, batched=True, batch_size=256, remove_columns=["text"], **kwargs)
        return out["ids"]

    print(f"{len(texts)} postings, median / min of {opts.repeats} runs (seconds)")
    print("direct windows_many:            {:.3f} / {:.3f}".format(*_timed(direct, opts.repeats)))
    print(
        "Dataset.map, in memory:         {:.3f} / {:.3f}".format(*_timed(via_dataset, opts.repeats))
    )
    with tempfile.TemporaryDirectory() as folder:
        cache = os.path.join(folder, "windows.arrow")
        print(f"Dataset.map, writing its cache: {_timed(lambda: via_dataset(cache), 1)[0]:.3f}")
        reread = _timed(lambda: via_dataset(cache), opts.repeats)
        print("Dataset.map, cache re-read:     {:.3f} / {:.3f}".format(*reread))
        assert via_dataset(cache) == direct(), "the two paths disagree"


if __name__ == "__main__":
    main()
