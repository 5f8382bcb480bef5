"""The FastAPI app: the page, the JSON API, CSV jobs, with the model kept warm.

``create_app(model, ...)`` returns the app; its ``lifespan`` starts the micro-batcher and loads
the backbone once, in the background (``/healthz`` answers 503 until it is warm, so the server
is up in seconds). Every model call goes through the batcher's one model thread; requests that
arrive together share one ``classify`` call. Nothing is kept between requests except CSV jobs
(see :mod:`.jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ..batch import LabelCsvError
from ..model import Prediction, RoleClassifier
from ..text import EmptyTextError, Posting, clean_text, split_title
from ..threads import thread_limits
from .batching import MicroBatcher, QueueFullError
from .jobs import CsvJobs, TooManyJobsError
from .page import AdForm, render_docs, render_index, render_roles

__all__ = ["ServeConfig", "create_app", "read_ad"]

log = logging.getLogger("role_classifier.serve")
STATIC = Path(__file__).parent / "static"
EMPTY_AD = "the ad is empty (nothing left after removing HTML and whitespace)"
_WARM_UP = Posting(
    "You will deploy machine learning models to production and run the serving platform.",
    "ML Engineer",
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class ServeConfig:
    """Limits and tuning of a server (the ``serve`` command's options)."""

    model_name: str = "default"
    """how the model was named (``--model``); echoed in every answer."""
    workers: int | None = None
    """CPU threads for the model (one per core when None)."""
    max_batch: int = 32
    """postings per forward pass at most."""
    max_wait_ms: float = 5.0
    """how long the first request of a batch waits for others, at most."""
    max_queue: int = 2048
    """postings waiting at most; beyond, 503."""
    max_body_bytes: int = 1 << 20
    """JSON and form bodies larger than this get 413."""
    max_upload_bytes: int = 50 << 20
    """CSV uploads larger than this get 413."""
    max_postings: int = 256
    """postings in one ``classify-batch`` at most; beyond, 413."""
    max_csv_jobs: int = 2
    """CSV files labelled at the same time at most; beyond, 429."""


# -- request and response bodies ----------------------------------------------------------------
class ClassifyRequest(BaseModel):
    """One ad to classify."""

    text: str = Field(description="The ad as pasted: plain text or HTML (tags are stripped).")
    title: str | None = Field(
        None,
        description="The ad's title. When null, a short first line of the text that does not "
        "end like a sentence is read as the title.",
    )
    top_k: int = Field(3, ge=0, le=20, description="Runner-up roles to list.")
    evidence: int = Field(3, ge=0, le=10, description="Sentences quoted as evidence.")


class RunnerUp(BaseModel):
    """A role that came after the label."""

    label: str
    score: float


class ClassifyResponse(BaseModel):
    """The answer for one ad: exactly what ``role-classifier classify --json`` prints."""

    label: str = Field(description="The role.")
    confidence: float = Field(description="Its calibrated probability.")
    runner_ups: list[RunnerUp] = Field(description="The next roles, most probable first.")
    scores: dict[str, float] = Field(description="Probability of every role (sums to 1).")
    evidence: list[str] = Field(description="The sentences that most support the label.")
    truncated: bool = Field(description="True when a very long ad was read in sampled parts.")
    title: str | None = Field(description="The title read (given or guessed), or null.")
    model: str = Field(description="The model that answered.")


class BatchPosting(BaseModel):
    """One posting of a batch."""

    text: str | None = Field(None, description="The ad; a missing or empty text is an error.")
    title: str | None = Field(None, description="As in /v1/classify.")


class BatchRequest(BaseModel):
    """Up to 256 postings, answered in order."""

    postings: list[BatchPosting]
    top_k: int = Field(3, ge=0, le=20, description="Runner-up roles to list.")
    evidence: int = Field(3, ge=0, le=10, description="Sentences quoted as evidence.")


class PostingError(BaseModel):
    """A posting of a batch that could not be classified (the others still are)."""

    error: str


class Health(BaseModel):
    """The server is up and its model loaded."""

    status: str
    model: str
    backend: str
    labels: list[str]
    batching: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error answer."""

    detail: str


class CsvJobBody(BaseModel):
    """A CSV labelling job."""

    id: str
    state: str = Field(description="running, done or failed.")
    rows_done: int
    rows_total: int | None
    error: str | None
    warnings: list[str] = Field(description="e.g. that the file was not valid UTF-8.")
    summary: dict[str, Any] | None = Field(description="Rows, errors, label counts (when done).")
    status_url: str
    download_url: str | None = Field(description="Where the labelled CSV is, once done.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Body too large."},
    422: {"model": ErrorBody, "description": "Invalid JSON, a missing field, or an empty ad."},
    503: {"model": ErrorBody, "description": "The model is still loading, or the queue is full."},
}


# -- reading an ad, as `classify` does ------------------------------------------------------------
def read_ad(text: str, title: str | None) -> tuple[Posting, str | None]:
    """The posting ``role-classifier classify`` would read from a pasted ad, and its title.

    HTML is stripped; without a title, a short first line is taken as the title
    (:func:`~role_classifier.text.split_title`).

    Raises:
        EmptyTextError: nothing is left after removing HTML and whitespace.
    """
    ad = clean_text(text)
    if not ad:
        raise EmptyTextError(EMPTY_AD)
    if title is None:
        title, body = split_title(ad)
    else:
        body = ad
    return Posting(description=body, title=title), title


@dataclass(frozen=True)
class _Ad:
    posting: Posting
    top_k: int
    evidence: int


# -- the app --------------------------------------------------------------------------------------
def create_app(model: RoleClassifier, config: ServeConfig | None = None) -> FastAPI:
    """The served app for ``model`` (loaded lazily: the backbone loads in the background).

    Args:
        model: the classifier to serve (``RoleClassifier.from_pretrained(...)``).
        config: names, limits and batching (defaults: :class:`ServeConfig`).

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> with TestClient(create_app(clf)) as client:  # doctest: +SKIP
        ...     client.post("/v1/classify", json={"text": "We ship RAG on pgvector."}).json()
    """
    cfg = config or ServeConfig()
    lock = threading.Lock()

    def run_batch(items: list[_Ad]) -> list[Prediction]:
        with lock, thread_limits(cfg.workers):
            out = model.classify(
                [a.posting for a in items], top_k=items[0].top_k, evidence=items[0].evidence
            )
        return out  # type: ignore[return-value]

    batcher: MicroBatcher[_Ad, Prediction] = MicroBatcher(
        run_batch, cfg.max_batch, cfg.max_wait_ms, cfg.max_queue
    )
    state: dict[str, Any] = {"ready": False, "error": None}

    def warm_up() -> None:
        with lock, thread_limits(cfg.workers):
            model.classify(_WARM_UP, evidence=1)  # loads the backbone, embeds the role prototypes

    async def load() -> None:
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(batcher.executor, warm_up)
        except Exception as exc:
            state["error"] = f"{type(exc).__name__}: {exc}"
            log.error("the model failed to load: %s", state["error"])
            return
        state["ready"] = True
        log.info("model %s ready in %.1f s", cfg.model_name, time.perf_counter() - started)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        app.state.jobs = CsvJobs(model, lock, cfg.workers, cfg.max_csv_jobs)
        loading = asyncio.create_task(load())
        try:
            yield
        finally:
            loading.cancel()
            app.state.jobs.close()
            await batcher.stop()

    app = FastAPI(
        title="role-classifier",
        version="1",
        description="Which AI/ML role is a job posting hiring for? One ad, a batch, or a CSV.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.batcher = batcher
    app.state.config = cfg
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(_BodyLimit, max_body=cfg.max_body_bytes, max_upload=cfg.max_upload_bytes)
    app.add_middleware(_AccessLog)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        return JSONResponse({"detail": _describe(errors), "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        detail = f"internal error: {type(exc).__name__}"
        return JSONResponse({"detail": detail}, status_code=500)

    def require_model() -> None:
        if not state["ready"]:
            why = state["error"] or "the model is still loading"
            raise HTTPException(503, why, headers={"Retry-After": "2"})

    async def classify_many(ads: list[_Ad]) -> list[Prediction | BaseException]:
        require_model()
        try:
            key = (ads[0].top_k, ads[0].evidence) if ads else None
            return await batcher.submit_many(ads, key=key, return_exceptions=True)
        except QueueFullError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc

    # -- API ----------------------------------------------------------------------------------
    @app.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}})
    async def healthz() -> dict[str, Any]:
        """200 with the model, backend and labels once the model is loaded; 503 before."""
        require_model()
        return {
            "status": "ok",
            "model": cfg.model_name,
            "backend": model.backend,
            "labels": model.labels,
            "batching": batcher.stats.to_dict(),
        }

    @app.post("/v1/classify", response_model=ClassifyResponse, responses=_ERRORS)
    async def classify(req: ClassifyRequest) -> dict[str, Any]:
        """Classify one ad; the answer is what ``role-classifier classify --json`` prints."""
        try:
            posting, title = read_ad(req.text, req.title)
        except EmptyTextError as exc:
            raise HTTPException(422, str(exc)) from exc
        (pred,) = await classify_many([_Ad(posting, req.top_k, req.evidence)])
        if isinstance(pred, EmptyTextError):
            raise HTTPException(422, str(pred))
        if isinstance(pred, BaseException):
            raise HTTPException(500, f"classification failed: {type(pred).__name__}: {pred}")
        return pred.as_answer(title, cfg.model_name)

    @app.post(
        "/v1/classify-batch",
        response_model=list[ClassifyResponse | PostingError],
        responses=_ERRORS,
    )
    async def classify_batch(req: BatchRequest) -> list[dict[str, Any]]:
        """Classify up to 256 ads, answered in order; a bad one gets an ``error``, the rest answers."""
        if len(req.postings) > cfg.max_postings:
            raise HTTPException(
                413, f"{len(req.postings)} postings in one batch; at most {cfg.max_postings}"
            )
        out: list[dict[str, Any]] = [{} for _ in req.postings]
        ads, where, titles = [], [], []
        for i, p in enumerate(req.postings):
            if p.text is None:
                out[i] = {"error": f"postings.{i}.text: field required"}
                continue
            try:
                posting, title = read_ad(p.text, p.title)
            except EmptyTextError as exc:
                out[i] = {"error": str(exc)}
                continue
            ads.append(_Ad(posting, req.top_k, req.evidence))
            where.append(i)
            titles.append(title)
        preds = await classify_many(ads) if ads else []
        for i, title, pred in zip(where, titles, preds):
            if isinstance(pred, BaseException):
                out[i] = {"error": f"classification failed: {type(pred).__name__}: {pred}"}
            else:
                out[i] = pred.as_answer(title, cfg.model_name)
        return out

    @app.post(
        "/v1/label-csv",
        status_code=202,
        response_model=CsvJobBody,
        responses={**_ERRORS, 429: {"model": ErrorBody, "description": "Too many CSV jobs."}},
    )
    async def label_csv_upload(
        request: Request,
        file: Annotated[UploadFile, File(description="A CSV with a header row.")],
        text_column: Annotated[str, Form(description="The column holding the ad.")] = "description",
        title_column: Annotated[
            str | None, Form(description="The column holding its title.")
        ] = None,
        top_k: Annotated[int, Form(ge=0, le=20, description="Runner-ups per row.")] = 1,
    ) -> dict[str, Any]:
        """Start labelling a CSV like ``label-csv`` (same columns out); poll the job, then download."""
        require_model()
        jobs: CsvJobs = request.app.state.jobs
        try:
            job = await run_in_threadpool(
                jobs.start, file.file, file.filename or "", text_column, title_column or None, top_k
            )
        except TooManyJobsError as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": "30"}) from exc
        except LabelCsvError as exc:
            raise HTTPException(422, str(exc)) from exc
        return job.to_dict()

    @app.get(
        "/v1/label-csv/{job_id}",
        response_model=CsvJobBody,
        responses={404: {"model": ErrorBody}},
    )
    async def label_csv_status(request: Request, job_id: str) -> dict[str, Any]:
        """Progress of a CSV job (``rows_done`` of ``rows_total``), and its link once done."""
        job = request.app.state.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (finished jobs are deleted after download)")
        return job.to_dict()

    @app.get(
        "/v1/label-csv/{job_id}/download",
        response_class=FileResponse,
        responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    )
    async def label_csv_download(request: Request, job_id: str) -> FileResponse:
        """The labelled CSV; the job and its files are deleted once it is sent."""
        jobs: CsvJobs = request.app.state.jobs
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (finished jobs are deleted after download)")
        if job.state != "done":
            raise HTTPException(
                409, f"the job is {job.state}" + (f": {job.error}" if job.error else "")
            )
        return FileResponse(
            job.output,
            media_type="text/csv; charset=utf-8",
            filename=job.download_name,
            background=BackgroundTask(jobs.remove, job_id),
        )

    # -- pages --------------------------------------------------------------------------------
    def page(form: AdForm, status: int = 200) -> HTMLResponse:
        body = render_index(form, model.labels, cfg.model_name, cfg.max_upload_bytes / (1 << 20))
        return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return page(AdForm())

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def index_classify(
        text: Annotated[str, Form()] = "", title: Annotated[str, Form()] = ""
    ) -> HTMLResponse:
        form = AdForm(text=text, title=title)
        try:
            posting, title_read = read_ad(text, title.strip() or None)
        except EmptyTextError as exc:
            form.error = str(exc)
            return page(form, 422)
        if not state["ready"]:
            form.error = state["error"] or "The model is still loading; try again in a moment."
            return page(form, 503)
        try:
            (pred,) = await batcher.submit_many([_Ad(posting, 3, 3)], key=(3, 3))
        except QueueFullError as exc:
            form.error = str(exc)
            return page(form, 503)
        except EmptyTextError as exc:
            form.error = str(exc)
            return page(form, 422)
        form.prediction = pred
        form.title_read = title_read
        form.body = posting.description
        if not title.strip() and title_read:  # guessed: show it editable, the rest as the ad
            form.title_guessed = True
            form.title = title_read
            form.text = posting.description
        return page(form)

    @app.get("/roles", response_class=HTMLResponse, include_in_schema=False)
    async def roles() -> HTMLResponse:
        return HTMLResponse(render_roles(model.taxonomy), headers=_SECURITY_HEADERS)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()), headers=_SECURITY_HEADERS)

    return app


def _describe(errors: list[dict[str, Any]]) -> str:
    """One line naming each invalid field: ``text: Field required``."""
    parts = []
    for e in errors:
        if e.get("type") == "json_invalid":
            where = e["loc"][-1] if len(e["loc"]) > 1 else "?"
            why = (e.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON ({why} at character {where})")
            continue
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        parts.append(f"{'.'.join(loc) or 'body'}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


# -- middleware -----------------------------------------------------------------------------------
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    pass


class _BodyLimit:
    """413 with a JSON error for a body over the limit: by Content-Length, or while streaming."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].rstrip("/") == "/v1/label-csv"
        limit = self.max_upload if upload else self.max_body
        what = "CSV upload" if upload else "request body"
        detail = f"the {what} is larger than {limit:,} bytes"
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_json(send, 413, {"detail": detail})
            return
        seen = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app answers to a cut-off body, the answer is 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if over and not started:
            await _send_json(send, 413, {"detail": detail})


class _AccessLog:
    """One log line per request: method, path, status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, ms)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    import json

    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
