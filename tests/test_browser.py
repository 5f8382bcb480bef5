"""The served page in a real browser: headless Chromium (Debian's, /usr/bin/chromium) driven by
Playwright, against `role-classifier serve` started as a subprocess on 127.0.0.1.

Run with ``pytest -m browser``. A browser that cannot be launched fails these tests; it never
skips them. ``playwright install`` is never needed (nor run): the system Chromium is used.

The README's screenshot comes from the same code, with the real default model::

    .venv/bin/python tests/test_browser.py --model default --out docs/serve.png
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AD = (ROOT / "data" / "samples" / "ad_mlops.txt").read_text(encoding="utf-8")
XSS = (
    "\n\nNote from the careers team: &lt;script&gt;window.__pwned = 1&lt;/script&gt; "
    '<img src=x onerror="window.__pwned = 2"> is how we test our own forms.'
)


class Server:
    """``role-classifier serve`` in a subprocess on a free loopback port; stops on SIGTERM."""

    def __init__(self, *args: str, ready_timeout: float = 240.0) -> None:
        cmd = [sys.executable, "-m", "role_classifier", "serve", "--port", "0", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", 60).group(1)
        self._wait_for(r"model .* ready in", ready_timeout)

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

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for a clean exit; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the server did not stop on SIGTERM") from None
        finally:
            self._reader.join(5)


def launch_browser(playwright):  # noqa: ANN001, ANN201 - playwright's own types
    """Debian's Chromium; an error here fails the test (never a skip)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def classify_on_page(page, url: str, ad: str) -> None:  # noqa: ANN001
    """Open the page, paste ``ad``, press Classify, wait for the answer."""
    page.goto(url)
    page.fill("#text", ad)
    page.get_by_role("button", name="Classify").click()
    page.wait_for_selector("#result")


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[Server]:
    s = Server("--model", str(tiny_model_dir), "--backend", "torch", "--workers", "1")
    try:
        yield s
    finally:
        if s.proc.poll() is None:
            s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.browser
def test_paste_classify_shows_role_and_highlighted_evidence(
    server: Server, browser, tmp_path: Path
) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    classify_on_page(page, server.url, SAMPLE_AD + XSS)
    label = page.inner_text("#answer .label").strip()
    assert label in page.inner_text("table.scores")
    marks = page.locator(".ad-text mark")
    assert marks.count() >= 1
    first_evidence = page.inner_text("ol.evidence li >> nth=0").strip()
    assert first_evidence and first_evidence in page.inner_text(".ad-text")
    assert any(first_evidence == marks.nth(i).inner_text().strip() for i in range(marks.count()))
    # the title line was guessed, and is shown in the title field to edit
    assert page.input_value("#title") == SAMPLE_AD.splitlines()[0].strip()
    # HTML in the ad is text: never executed, the escaped script shown literally
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.inner_text(".ad-text")
    page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
    assert (tmp_path / "serve.png").stat().st_size > 10_000
    page.close()


@pytest.mark.browser
def test_keyboard_only_and_phone_width(server: Server, browser) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone held upright
    page.goto(server.url)
    page.focus("#title")
    page.keyboard.type("MLOps Engineer")
    page.keyboard.press("Tab")  # past the hint to the ad
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.insert_text(SAMPLE_AD)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "classify"
    page.keyboard.press("Enter")
    page.wait_for_selector("#result")
    assert page.input_value("#title") == "MLOps Engineer"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    bars = page.evaluate(
        "Array.from(document.querySelectorAll('table.scores meter'))"
        ".map(m => m.getBoundingClientRect().width)"
    )
    assert bars and min(bars) >= 100, f"confidence bars collapsed at 390 px: {bars}"
    assert page.is_visible("#review-legend")  # auto / review explained where the badge is
    assert "a person should check" in page.inner_text("#review-legend")
    assert page.get_attribute("#answer .review", "title")
    assert page.input_value("#title-column") == "title"
    page.close()


@pytest.mark.browser
def test_single_ad_form_works_with_javascript_off(server: Server, browser) -> None:  # noqa: ANN001
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    classify_on_page(page, server.url, SAMPLE_AD)
    assert page.locator(".ad-text mark").count() >= 1
    context.close()


@pytest.mark.browser
def test_csv_upload_shows_progress_and_downloads_label_csv_columns(
    server: Server, browser, tmp_path: Path
) -> None:  # noqa: ANN001
    rows = [
        ("ML Engineer", SAMPLE_AD),
        ("", "<p></p>"),
        ("Nurse", "Care for patients on the ward."),
    ]
    src = tmp_path / "jobs.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("title", "description"), *rows])
    page = browser.new_page()
    page.goto(server.url)
    page.set_input_files("#csv-file", str(src))
    page.fill("#title-column", "title")
    page.get_by_role("button", name="Label CSV").click()
    link = page.wait_for_selector("#csv-download", timeout=60_000)
    assert "3 of 3 rows" in page.inner_text("#csv-status")
    with page.expect_download() as info:
        link.click()
    data = Path(info.value.path()).read_text(encoding="utf-8")
    out = list(csv.DictReader(io.StringIO(data)))
    assert list(out[0]) == [
        "title",
        "description",
        "predicted_role",
        "confidence",
        "runner_up",
        "runner_up_score",
        "review",
        "error",
    ]
    assert out[0]["predicted_role"] and not out[1]["predicted_role"] and out[1]["error"]
    page.close()


@pytest.mark.browser
def test_server_logs_each_request_and_stops_cleanly_on_sigterm(server: Server) -> None:
    # uvicorn shuts down gracefully, then re-raises the signal: exit by SIGTERM, no traceback
    assert server.stop() in (0, -signal.SIGTERM)
    log = "\n".join(server.lines)
    assert "Traceback" not in log
    assert re.search(r"POST / 200 [\d.]+ ms", log)
    assert re.search(r"GET /static/style\.css 200 [\d.]+ ms", log)
    assert "Application shutdown complete" in log and "Finished server process" in log


def main() -> None:
    """Save a screenshot of the page answering the sample ad (for the README)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "serve.png")
    parser.add_argument("--width", type=int, default=820)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = Server("--model", args.model)
    try:
        with sync_playwright() as p:
            b = launch_browser(p)
            page = b.new_page(viewport={"width": args.width, "height": 900})
            ad = (ROOT / "data" / "samples" / "ad_ai_engineer.txt").read_text(encoding="utf-8")
            classify_on_page(page, server.url, ad)
            page.evaluate(  # the ad's box scrolled to its first highlighted sentence
                "const m = document.querySelector('.ad-text mark');"
                "if (m) m.parentElement.scrollTop = m.offsetTop - m.parentElement.offsetTop - 8;"
            )
            page.locator("#result").screenshot(path=str(args.out))
            b.close()
    finally:
        server.stop()
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
