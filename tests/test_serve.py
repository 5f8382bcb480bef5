"""`role-classifier serve`: every route and every limit, through FastAPI's TestClient (no socket),
on the tiny random BERT of conftest.py."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from role_classifier.cli import app as cli_app
from role_classifier.labelling import label_csv
from role_classifier.modeling.model import RoleClassifier
from role_classifier.serve.app import ServeConfig, create_app
from role_classifier.serve.batching import MicroBatcher, QueueFullError
from role_classifier.serve.page import highlight

AD = (
    "Senior MLOps Engineer\nYou will run model serving on kubernetes. "
    "You will build ml pipelines for production."
)
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/healthz").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError("the model did not load in time")


@pytest.fixture(scope="module")
def served(tiny_model_dir: Path) -> RoleClassifier:
    """The tiny trained model as `serve --model DIR --backend torch` loads it."""
    return RoleClassifier.from_pretrained(tiny_model_dir, backend="torch")


@pytest.fixture(scope="module")
def client(served: RoleClassifier, tiny_model_dir: Path) -> Iterator[TestClient]:
    config = ServeConfig(model_name=str(tiny_model_dir), max_upload_bytes=200_000)
    with TestClient(create_app(served, config)) as c:
        _wait_ready(c)
        yield c


class _Flaky:
    """A model stand-in: waits for ``gate`` before its first call; fails any ad containing BOOM."""

    def __init__(self, clf: RoleClassifier, gate: threading.Event | None = None) -> None:
        self.clf, self.gate = clf, gate
        self.labels, self.taxonomy, self.backend = clf.labels, clf.taxonomy, clf.backend
        self.calls: list[int] = []

    def classify(self, postings: Any, **kwargs: Any) -> Any:
        if self.gate is not None:
            assert self.gate.wait(30)
        items = postings if isinstance(postings, list) else [postings]
        self.calls.append(len(items))
        if any("BOOM" in p.description for p in items):
            raise RuntimeError("boom")
        return self.clf.classify(postings, **kwargs)

    @property
    def encoder(self) -> Any:
        return self.clf.encoder


# -- health and startup --------------------------------------------------------------------------
def test_healthz_is_503_until_the_model_is_loaded_then_names_model_backend_labels(
    served: RoleClassifier,
) -> None:
    gate = threading.Event()
    with TestClient(create_app(_Flaky(served, gate), ServeConfig(model_name="m"))) as c:  # type: ignore[arg-type]
        r = c.get("/healthz")
        assert r.status_code == 503 and "loading" in r.json()["detail"]
        assert c.post("/v1/classify", json={"text": AD}).status_code == 503
        assert c.get("/").status_code == 200  # the page is up at once
        gate.set()
        _wait_ready(c)
        body = c.get("/healthz").json()
    assert body["status"] == "ok" and body["model"] == "m" and body["backend"] == "torch"
    assert body["labels"] == served.labels


# -- /v1/classify --------------------------------------------------------------------------------
def test_classify_returns_exactly_what_classify_json_prints(
    client: TestClient, tiny_model_dir: Path
) -> None:
    result = CliRunner().invoke(
        cli_app, ["classify", "--json", "--model", str(tiny_model_dir), "--backend", "torch", AD]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    api = client.post("/v1/classify", json={"text": AD}).json()
    assert api == cli
    assert list(api) == list(cli)  # same keys, same order
    assert api["title"] == "Senior MLOps Engineer" and api["model"] == str(tiny_model_dir)


def test_classify_title_given_or_guessed_and_top_k(client: TestClient) -> None:
    given = client.post("/v1/classify", json={"text": AD, "title": "Staff Engineer", "top_k": 1})
    assert given.status_code == 200
    body = given.json()
    assert body["title"] == "Staff Engineer" and len(body["runner_ups"]) == 1
    plain = client.post("/v1/classify", json={"text": "We are hiring. You will build rag apps."})
    assert plain.json()["title"] is None


@pytest.mark.parametrize("text", ["", "   \n ", "<p> </p><br>", "<script>alert(1)</script>"])
def test_empty_or_html_only_text_is_422_like_classify_exit_2(client: TestClient, text: str) -> None:
    r = client.post("/v1/classify", json={"text": text})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the ad is empty")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "ML Engineer"}, "text"),
        ({"text": 5}, "text"),
        ({"text": AD, "top_k": -1}, "top_k"),
    ],
)
def test_missing_or_wrong_field_is_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/classify", json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"{field}:")


def test_invalid_json_is_422_saying_so(client: TestClient) -> None:
    r = client.post(
        "/v1/classify", content=b'{"text": "x",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert "not valid JSON" in r.json()["detail"]


def test_body_over_1_mb_is_413_with_a_json_error(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"text": "a" * (1 << 20)})
    assert r.status_code == 413
    assert "larger than 1,048,576 bytes" in r.json()["detail"]


def test_streamed_body_over_1_mb_is_413_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}'

    r = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_a_failing_request_gets_its_error_and_the_server_goes_on(served: RoleClassifier) -> None:
    flaky = _Flaky(served)
    with TestClient(create_app(flaky, ServeConfig()), raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        _wait_ready(c)
        bad = c.post("/v1/classify", json={"text": "BOOM goes the model here today"})
        assert bad.status_code == 500 and "boom" in bad.json()["detail"]
        assert c.post("/v1/classify", json={"text": AD}).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_requests_that_arrive_together_share_one_forward_pass(served: RoleClassifier) -> None:
    gate = threading.Event()
    flaky = _Flaky(served, gate)
    config = ServeConfig(max_wait_ms=200)
    with TestClient(create_app(flaky, config)) as c:  # type: ignore[arg-type]
        gate.set()
        _wait_ready(c)
        flaky.calls.clear()
        answers: list[int] = []
        texts = [f"You will build rag apps number {i} for the team." for i in range(6)]
        threads = [
            threading.Thread(
                target=lambda t=t: answers.append(
                    c.post("/v1/classify", json={"text": t}).status_code
                )
            )
            for t in texts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        stats = c.get("/healthz").json()["batching"]
    assert answers == [200] * 6
    assert sum(flaky.calls) == 6 and len(flaky.calls) < 6  # fewer calls than requests
    assert stats["largest"] >= 2


# -- /v1/classify-batch --------------------------------------------------------------------------
def test_batch_answers_in_order_and_a_bad_posting_gets_an_error(client: TestClient) -> None:
    good = ["You will build rag apps with llm apis.", AD, "Train pytorch models for research."]
    postings = [
        {"text": good[0]},
        {"text": ""},
        {"text": good[1]},
        {"title": "no text"},
        {"text": "<br>"},
        {"text": good[2], "title": "Research Scientist"},
    ]
    r = client.post("/v1/classify-batch", json={"postings": postings})
    assert r.status_code == 200
    out = r.json()
    assert len(out) == 6
    assert out[1]["error"].startswith("the ad is empty") and out[4]["error"].startswith("the ad")
    assert "text" in out[3]["error"]
    for i, body in ((0, postings[0]), (2, postings[2]), (5, postings[5])):
        assert out[i] == client.post("/v1/classify", json=body).json()


def test_batch_of_a_failing_posting_fails_alone(served: RoleClassifier) -> None:
    with TestClient(create_app(_Flaky(served), ServeConfig())) as c:  # type: ignore[arg-type]
        _wait_ready(c)
        texts = ["You will build rag apps.", "BOOM this one breaks the model", AD]
        out = c.post("/v1/classify-batch", json={"postings": [{"text": t} for t in texts]}).json()
        assert "boom" in out[1]["error"] and out[0]["label"] and out[2]["label"]
        assert c.get("/healthz").json()["batching"]["retried_alone"] >= 3


def test_batch_of_more_than_256_postings_is_413(client: TestClient) -> None:
    r = client.post("/v1/classify-batch", json={"postings": [{"text": "x"}] * 257})
    assert r.status_code == 413 and "at most 256" in r.json()["detail"]
    assert client.post("/v1/classify-batch", json={"postings": []}).json() == []


# -- CSV upload ----------------------------------------------------------------------------------
def _label_upload(client: TestClient, data: bytes, **form: str) -> dict[str, Any]:
    fields = {"text_column": "description", "title_column": "title", **form}
    r = client.post("/v1/label-csv", files={"file": ("jobs.csv", data, "text/csv")}, data=fields)
    assert r.status_code == 202, r.text
    job = r.json()
    deadline = time.monotonic() + 60
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(job["status_url"]).json()
    assert job["state"] == "done", job
    return job


def test_csv_upload_gives_label_csvs_output_and_is_deleted_after_download(
    client: TestClient, served: RoleClassifier, tmp_path: Path
) -> None:
    data = (SAMPLES / "unlabeled.csv").read_bytes()
    job = _label_upload(client, data)
    assert job["rows_done"] == job["rows_total"] == job["summary"]["rows"]
    r = client.get(job["download_url"])
    assert r.status_code == 200 and "jobs-labelled.csv" in r.headers["content-disposition"]
    label_csv(
        SAMPLES / "unlabeled.csv",
        tmp_path / "cli.csv",
        text_column="description",
        title_column="title",
        model=served,
    )
    assert r.content == (tmp_path / "cli.csv").read_bytes()  # same columns, same values
    assert client.get(job["status_url"]).status_code == 404
    assert client.get(job["download_url"]).status_code == 404


def test_csv_upload_not_utf8_is_decoded_like_label_csv_with_a_warning(client: TestClient) -> None:
    data = "title,description\nML Engineer,Train models for the caf\xe9 team.\n".encode("latin-1")
    job = _label_upload(client, data)
    assert any("not valid UTF-8" in w for w in job["warnings"])
    rows = list(csv.DictReader(io.StringIO(client.get(job["download_url"]).text)))
    assert rows[0]["predicted_role"] and "café" in rows[0]["description"]
    assert rows[0]["error"].startswith("warning:")


def test_csv_upload_over_the_limit_is_413(client: TestClient) -> None:
    data = b"title,description\n" + b"x,y\n" * 60_000  # 240 KB over the test's 200 KB limit
    r = client.post("/v1/label-csv", files={"file": ("big.csv", data)}, data={})
    assert r.status_code == 413 and "CSV upload is larger than" in r.json()["detail"]


def test_csv_upload_with_a_missing_column_is_422_naming_it(client: TestClient) -> None:
    data = b"title,body\nx,y\n"
    r = client.post("/v1/label-csv", files={"file": ("a.csv", data)}, data={})
    assert r.status_code == 422 and "'description'" in r.json()["detail"]


# -- the page ------------------------------------------------------------------------------------
def test_page_form_shows_label_bars_runner_ups_and_highlighted_evidence(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200 and '<form method="post"' in home.text
    assert "https://" not in home.text and "http://" not in home.text  # no CDN, nothing remote
    r = client.post("/", data={"text": AD, "title": ""})
    assert r.status_code == 200
    api = client.post("/v1/classify", json={"text": AD}).json()
    assert f">{api['label']}</a>" in r.text
    assert r.text.count("<meter") == 8
    assert '<mark id="evidence-1">' in r.text and api["evidence"][0] in r.text
    assert 'value="Senior MLOps Engineer"' in r.text  # the guessed title, editable
    assert "Content-Security-Policy" in r.headers


def test_page_shows_html_in_the_ad_as_text(client: TestClient) -> None:
    ad = AD + " &lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(2)>"
    r = client.post("/", data={"text": ad, "title": "Engineer <b>x</b>"})
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text
    assert "<img" not in r.text and "<b>x" not in r.text


def test_page_empty_ad_says_so(client: TestClient) -> None:
    r = client.post("/", data={"text": "<p></p>", "title": ""})
    assert r.status_code == 422 and "the ad is empty" in r.text


def test_roles_docs_and_assets_are_served(client: TestClient) -> None:
    roles = client.get("/roles").text
    assert 'id="role-mlops-engineer"' in roles and "AIOps Engineer" in roles
    docs = client.get("/docs").text
    for route in ("POST /v1/classify", "POST /v1/classify-batch", "GET /healthz"):
        assert route in docs
    assert "cdn" not in docs.lower()
    assert client.get("/openapi.json").json()["paths"]["/v1/classify"]
    assert "meter" in client.get("/static/style.css").text
    assert "csv-form" in client.get("/static/app.js").text


def test_one_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="role_classifier.serve"):
        client.get("/healthz")
        client.post("/v1/classify", json={})
    lines = [r.getMessage() for r in caplog.records if r.name == "role_classifier.serve"]
    assert lines[0].startswith("GET /healthz 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("POST /v1/classify 422 ")


def test_highlight_escapes_and_marks() -> None:
    html = highlight("Intro.\nYou  will own\nevals. <b>", ["You will own evals.", "absent one"])
    assert html == 'Intro.\n<mark id="evidence-1">You  will own\nevals.</mark> &lt;b&gt;'


# -- the batcher ---------------------------------------------------------------------------------
def test_batcher_bounds_its_queue_and_keeps_keys_apart() -> None:
    calls: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        calls.append(items)
        return [i * 10 for i in items]

    async def main() -> list[Any]:
        b = MicroBatcher(run, max_batch=4, max_wait_ms=50, max_queue=6)
        await b.start()
        try:
            with pytest.raises(QueueFullError):
                await b.submit_many(list(range(7)))
            return await asyncio.gather(
                b.submit_many([1, 2, 3, 4, 5], key="a"), b.submit(6, key="b")
            )
        finally:
            await b.stop()

    assert asyncio.run(main()) == [[10, 20, 30, 40, 50], 60]
    assert sorted(map(sorted, calls)) == [[1, 2, 3, 4], [5], [6]]


# -- the command ---------------------------------------------------------------------------------
def test_cli_help_does_not_import_fastapi() -> None:
    code = "import sys, role_classifier.cli; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_serve_command_passes_options_and_warns_off_loopback(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    args = ["serve", "--model", str(tiny_model_dir), "--backend", "torch", "--host", "0.0.0.0"]
    with caplog.at_level(logging.WARNING, logger="role_classifier.serve"):
        result = CliRunner().invoke(cli_app, [*args, "--port", "8123", "--max-upload-mb", "2"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8123
    assert seen["app"].state.config.max_upload_bytes == 2 << 20
    assert any("0.0.0.0" in r.getMessage() for r in caplog.records)
    bad = CliRunner().invoke(cli_app, ["serve", "--model", "no/such/dir"])
    assert bad.exit_code == 2


def test_csv_job_with_all_scores_returns_the_files_role_shares(client: TestClient) -> None:
    data = (SAMPLES / "unlabeled.csv").read_bytes()
    job = _label_upload(client, data, all_scores="true")
    shares = job["shares"]
    assert shares["method"] and shares["used_rows"] + shares["error_rows"] == shares["rows"]
    assert abs(sum(s["share"] for s in shares["shares"]) - 1) < 1e-6
    assert job["summary"]["to_review"] >= 0
    if job["shares_plot_url"]:  # matplotlib (the report extra) is installed with dev
        r = client.get(job["shares_plot_url"])
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    header = client.get(job["download_url"]).text.splitlines()[0]
    assert "score_ML Engineer" in header and header.endswith("review,error")


# -- one lock, in the encoder ---------------------------------------------------------------------
class _WatchedLock:
    """A re-entrant lock that records who holds it, and a backbone call that checks it is held."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._guard = threading.Lock()
        self.owner: int | None = None
        self.depth = 0
        self.calls = 0
        self.unlocked_calls = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.owner, self.depth = threading.get_ident(), self.depth + 1

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if not self.depth:
            self.owner = None
        self._lock.release()

    def watch(self, backbone: Any) -> Any:
        """``backbone`` (its attributes too), each call counted and checked."""
        lock = self

        class Watched:
            def __getattr__(self, name: str) -> Any:
                return getattr(backbone, name)

            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                with lock._guard:
                    lock.calls += 1
                    lock.unlocked_calls += lock.owner != threading.get_ident()
                    lock.in_flight += 1
                    lock.most_in_flight = max(lock.most_in_flight, lock.in_flight)
                try:
                    time.sleep(0.001)  # room for another thread to come in, were it not locked
                    return backbone(*args, **kwargs)
                finally:
                    with lock._guard:
                        lock.in_flight -= 1

        return Watched()


def test_serving_locks_the_encoder_itself_for_predict_evidence_roles_and_csv_jobs(
    served: RoleClassifier, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ServeConfig(model_name=str(tiny_model_dir))
    with TestClient(create_app(served, config)) as c:
        _wait_ready(c)
        state = c.app.state.serve  # type: ignore[attr-defined]
        assert served.encoder.lock is state.lock  # the served model, not a patched copy
        assert state.jobs.model is served
        watched = _WatchedLock()
        monkeypatch.setattr(served.encoder, "lock", watched)
        monkeypatch.setattr(served.encoder, "model", watched.watch(served.encoder.model))
        served.reset_prototypes()  # the role embeddings are computed again, under the lock
        data = (SAMPLES / "unlabeled.csv").read_bytes()
        calls = [
            lambda: c.post("/v1/classify", json={"text": AD, "evidence": 3}).raise_for_status(),
            lambda: served.predict([AD, "Pour coffee for our guests at the cafe."]),
            lambda: served.classify(AD, evidence=3),
            lambda: _label_upload(c, data),
        ]
        errors: list[BaseException] = []

        def run(call: Any) -> None:
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(f,)) for f in calls * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors, errors
    assert watched.calls > 0
    assert watched.unlocked_calls == 0, f"{watched.unlocked_calls} of {watched.calls} unlocked"
    assert watched.most_in_flight == 1


# -- the page's words -----------------------------------------------------------------------------
def test_page_explains_auto_and_review_next_to_the_badge(client: TestClient) -> None:
    page = client.post("/", data={"text": AD}).text
    assert 'id="review-legend"' in page and "a person should check" in page
    badge = re.search(r'<span class="review review-(auto|review)" title="([^"]+)"', page)
    assert badge is not None and "leads the runner-up by at least" in badge.group(2)


def test_csv_form_reads_titles_from_title_and_offers_the_delimiter(client: TestClient) -> None:
    page = client.get("/").text
    assert re.search(
        r'<input id="title-column" name="title_column" type="text" value="title"', page
    )
    assert 'name="delimiter"' in page


def test_a_semicolon_csv_is_noted_in_the_pages_words_and_the_field_sets_it(
    client: TestClient,
) -> None:
    data = b"title;description\nMLOps Engineer;Run model serving on kubernetes.\n"
    sniffed = _label_upload(client, data)
    notes = " ".join(sniffed["warnings"])
    assert "separated" in notes and "Delimiter field" in notes
    assert not re.search(r"--[a-z]", notes), notes  # no command-line flag the page lacks
    client.get(sniffed["download_url"])
    told = _label_upload(client, data, delimiter=";")
    assert not any("separated" in w for w in told["warnings"])
    client.get(told["download_url"])
