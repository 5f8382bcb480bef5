"""The HTML pages: ``/`` (the single-ad form, and its answer), ``/roles`` and ``/docs``.

These routes only decide what to show; the HTML itself is rendered (and escaped) by
:mod:`.page`. The form is a plain HTML POST, so it works with JavaScript off, and its errors
are shown on the page (422, 503) rather than as JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from ..modeling.model import Prediction
from ..text import EmptyTextError, Posting, read_ad
from .batching import QueueFullError
from .page import AdForm, render_docs, render_index, render_roles
from .state import QueuedAd, ServeState, StateDep

__all__ = ["SECURITY_HEADERS", "router"]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOADING = "The model is still loading; try again in a moment."

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/")
async def index(state: StateDep) -> HTMLResponse:
    return _page(state, AdForm())


@router.post("/")
async def index_classify(
    state: StateDep, text: Annotated[str, Form()] = "", title: Annotated[str, Form()] = ""
) -> HTMLResponse:
    form = AdForm(text=text, title=title)
    try:
        posting, title_read = read_ad(text, title.strip() or None)
    except EmptyTextError as exc:
        form.error = str(exc)
        return _page(state, form, 422)
    if not state.ready:
        form.error = state.load_error or LOADING
        return _page(state, form, 503)
    try:
        (pred,) = await state.classify([QueuedAd(posting, top_k=3, evidence=3)])
    except QueueFullError as exc:
        form.error = str(exc)
        return _page(state, form, 503)
    if isinstance(pred, EmptyTextError):
        form.error = str(pred)
        return _page(state, form, 422)
    if isinstance(pred, BaseException):
        raise pred
    _show_answer(form, pred, posting, title_read)
    config = state.model.config
    form.review_rule = (config.review_confidence, config.review_margin)
    return _page(state, form)


@router.get("/roles")
async def roles(state: StateDep) -> HTMLResponse:
    return HTMLResponse(render_roles(state.model.taxonomy), headers=SECURITY_HEADERS)


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render_docs(request.app.openapi()), headers=SECURITY_HEADERS)


def _show_answer(form: AdForm, pred: Prediction, posting: Posting, title_read: str | None) -> None:
    form.prediction = pred
    form.title_read = title_read
    form.body = posting.description
    if not form.title.strip() and title_read:  # guessed: show it editable, the rest as the ad
        form.title_guessed = True
        form.title = title_read
        form.text = posting.description


def _page(state: ServeState, form: AdForm, status: int = 200) -> HTMLResponse:
    cfg = state.config
    max_upload_mb = cfg.max_upload_bytes / (1 << 20)
    body = render_index(form, state.model.labels, cfg.model_name, max_upload_mb)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
