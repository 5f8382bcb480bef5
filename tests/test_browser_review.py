"""The review page in a real browser: Debian's Chromium driven by Playwright, against
``role-classifier review`` started as a subprocess on 127.0.0.1 (a free port).

Run with ``pytest -m browser``. A browser that cannot be launched fails these tests.
The README's screenshot comes from the same code, with the real default model::

    .venv/bin/python tests/test_browser_review.py LABELLED --out docs/img/review.png
"""

from __future__ import annotations

import argparse
import csv
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from role_classifier.corrections import corrections_path, read_corrections

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
LABELS = [
    "ML Researcher",
    "ML Engineer",
    "MLOps Engineer",
    "Prompt Engineer",
    "AI Engineer",
    "AIOps Engineer",
    "AI Agent Engineer",
    "Other",
]


class ReviewServer:
    """``role-classifier review`` in a subprocess on a free loopback port."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "role_classifier", "review", *args, "--port", "0"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", 120).group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} from the server:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def write_labelled(path: Path, n: int = 6) -> Path:
    """A small label-csv --all-scores output; the last posting carries markup that must stay text."""
    fields = [
        "id",
        "title",
        "description",
        "predicted_role",
        "confidence",
        *[f"score_{lab}" for lab in LABELS],
        "review",
        "error",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i in range(n):
            scores = dict.fromkeys(LABELS, 0.02)
            scores["ML Engineer"], scores["MLOps Engineer"] = 0.5 + 0.02 * i, 0.38 - 0.02 * i
            text = "Train machine learning models in pytorch for production. We deploy models."
            if i == n - 1:
                text += " We test forms with &lt;script&gt;window.__pwned = 1&lt;/script&gt; text."

            w.writerow(
                {
                    "id": f"p{i}",
                    "title": f"Machine Learning Engineer {i}",
                    "description": text,
                    "predicted_role": "ML Engineer",
                    "confidence": scores["ML Engineer"],
                    **{f"score_{k}": v for k, v in scores.items()},
                    "review": "review",
                    "error": "",
                }
            )
    return path


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    return write_labelled(tmp_path / "labelled.csv")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _wait_title(page, text: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        "t => document.getElementById('title').textContent === t", arg=text, timeout=60_000
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1000, 390])
def test_keys_answer_skip_and_undo_and_every_answer_is_saved_at_once(
    width: int,
    labelled: Path,
    tiny_model_dir: Path,
    browser,  # noqa: ANN001
) -> None:
    server = ReviewServer(str(labelled), "--model", str(tiny_model_dir))
    answers = corrections_path(labelled)
    try:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(server.url)
        _wait_title(page, "Machine Learning Engineer 0")
        assert page.locator("#keys button").count() == 8
        assert "Train machine learning" in page.inner_text("#text")
        page.keyboard.press("5")  # AI Engineer
        _wait_title(page, "Machine Learning Engineer 1")
        assert read_corrections(answers).labels == ["AI Engineer"]  # on disk already
        page.keyboard.press("s")
        _wait_title(page, "Machine Learning Engineer 2")
        page.keyboard.press("u")  # the skip undone
        _wait_title(page, "Machine Learning Engineer 1")
        page.keyboard.press("u")  # the answer withdrawn
        _wait_title(page, "Machine Learning Engineer 0")
        page.get_by_role("button", name="8 Other").click()
        _wait_title(page, "Machine Learning Engineer 1")
        found = read_corrections(answers)
        assert found.labels == ["Other"] and found.withdrawn == 1
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the screen"
        for _ in range(4):  # to the posting with markup in it, then to the end
            page.keyboard.press("2")
            page.wait_for_timeout(150)
        _wait_title(page, "Machine Learning Engineer 5")
        assert "<script>window.__pwned = 1</script>" in page.inner_text("#text")
        assert page.evaluate("window.__pwned") is None
        page.keyboard.press("2")
        page.wait_for_selector("#done:not([hidden])")
        assert len(read_corrections(answers).labels) == 6
        page.close()
    finally:
        server.stop()
    assert "Traceback" not in "\n".join(server.lines)


def main() -> None:
    """Save a screenshot of the review page (for the README)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("labelled", type=Path)
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "review.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = ReviewServer(
        str(args.labelled),
        "--model",
        args.model,
        "--corrections",
        "/tmp/review-screenshot.corrections.csv",
    )
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 900, "height": 900})
            page.goto(server.url)
            page.wait_for_selector("#posting:not([hidden])", timeout=60_000)
            page.screenshot(path=str(args.out))
            b.close()
    finally:
        server.stop()
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
