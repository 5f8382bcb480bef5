"""The FastAPI app: the page, the JSON API and CSV jobs, with the model kept warm.

``create_app(model, config)`` builds it from three routers (:mod:`.api`, :mod:`.csv_jobs`,
:mod:`.pages`) around one :class:`~.state.ServeState`. Its lifespan starts the micro-batcher and
loads the backbone once, in the background (``/healthz`` answers 503 until it is warm, so the
server is up in seconds). Every model call goes through the batcher's one model thread; requests
that arrive together share one ``classify`` call. Nothing is kept between requests except CSV
jobs (see :mod:`.jobs`).

Errors are answered as JSON ``{"detail": ...}``: a user's mistake
(:class:`~role_classifier.errors.UserError`, an empty ad, an invalid body) with 422, anything else
with 500 and a log line with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from ..errors import UserError
from ..modeling.model import RoleClassifier
from ..text import EmptyTextError
from . import api, csv_jobs, pages
from .middleware import AccessLog, BodyLimit
from .state import ServeConfig, ServeState

__all__ = ["ServeConfig", "create_app"]

log = logging.getLogger("role_classifier.serve")
STATIC = Path(__file__).parent / "static"
USER_ERRORS: tuple[type[Exception], ...] = (UserError, EmptyTextError)
"""Exceptions a route lets through as the user's mistake: answered 422 with their message.
``EmptyTextError`` is listed until it derives from :class:`~role_classifier.errors.UserError`."""


def create_app(model: RoleClassifier, config: ServeConfig | None = None) -> FastAPI:
    """The served app for ``model`` (loaded lazily: the backbone loads in the background).

    Args:
        model: the classifier to serve (``RoleClassifier.from_pretrained(...)``).
        config: names, limits and batching (defaults: :class:`ServeConfig`).

    Returns:
        The app; its state is ``app.state.serve`` (a :class:`~.state.ServeState`), its config
        also ``app.state.config``.

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> with TestClient(create_app(clf)) as client:  # doctest: +SKIP
        ...     client.post("/v1/classify", json={"text": "We ship RAG on pgvector."}).json()
    """
    config = config or ServeConfig()
    app = FastAPI(
        title="role-classifier",
        version="1",
        description="Which AI/ML role is a job posting hiring for? One ad, a batch, or a CSV.",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.serve = ServeState(model, config)
    app.state.config = config  # readable before the app starts (the serve command's test does)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        BodyLimit, max_body=config.max_body_bytes, max_upload=config.max_upload_bytes
    )
    app.add_middleware(AccessLog)
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    for error in USER_ERRORS:
        app.add_exception_handler(error, _user_error)
    app.add_exception_handler(Exception, _crash)
    app.include_router(api.router)
    app.include_router(csv_jobs.router)
    app.include_router(pages.router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServeState = app.state.serve
    await state.start()
    try:
        yield
    finally:
        await state.stop()


# -- error answers --------------------------------------------------------------------------------
async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    """A mistake the user can fix: 422 with its message."""
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A body or form that does not fit its model: 422 naming each field, and pydantic's list."""
    errors = jsonable_encoder(exc.errors())
    return JSONResponse({"detail": _describe(errors), "errors": errors}, status_code=422)


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged with its traceback, answered 500 without it."""
    log.exception("%s %s failed", request.method, request.url.path)
    detail = f"internal error: {type(exc).__name__}"
    return JSONResponse({"detail": detail}, status_code=500)


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
