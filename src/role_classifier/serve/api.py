"""The JSON API: ``GET /healthz``, ``POST /v1/classify`` and ``POST /v1/classify-batch``.

Every model call goes through the app's micro-batcher (:meth:`ServeState.classify`), so requests
that arrive together share one forward pass. An empty ad is the user's mistake (422, through the
app's handler); any other failure of the model is a 500 naming it. In a batch, a posting that
fails gets its own ``error`` and the others still answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ..modeling.model import Prediction
from ..text import EmptyTextError, Posting, read_ad
from .batching import QueueFullError
from .schemas import (
    ERRORS,
    BatchRequest,
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    Health,
    PostingError,
)
from .state import QueuedAd, ReadyStateDep, ServeState, StateDep, require_model

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}})
async def healthz(state: ReadyStateDep) -> dict[str, Any]:
    """200 with the model, backend and labels once the model is loaded; 503 before."""
    return {
        "status": "ok",
        "model": state.config.model_name,
        "backend": state.model.backend,
        "labels": state.model.labels,
        "batching": state.batcher.stats.to_dict(),
    }


@router.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS)
async def classify(req: ClassifyRequest, state: StateDep) -> dict[str, Any]:
    """Classify one ad; the answer is what ``role-classifier classify --json`` prints."""
    posting, title = read_ad(req.text, req.title)
    (pred,) = await _classify(state, [QueuedAd(posting, req.top_k, req.evidence)])
    if isinstance(pred, EmptyTextError):  # the posting's fault (answered 422); others are ours
        raise pred
    if isinstance(pred, BaseException):
        raise HTTPException(500, _failed(pred))
    return pred.as_answer(title, state.config.model_name)


@router.post(
    "/v1/classify-batch",
    response_model=list[ClassifyResponse | PostingError],
    responses=ERRORS,
)
async def classify_batch(req: BatchRequest, state: StateDep) -> list[dict[str, Any]]:
    """Classify up to 256 ads, answered in order; a bad one gets an ``error``, the rest answers."""
    limit = state.config.max_postings
    if len(req.postings) > limit:
        raise HTTPException(413, f"{len(req.postings)} postings in one batch; at most {limit}")
    out: list[dict[str, Any]] = [{} for _ in req.postings]
    read: dict[int, tuple[Posting, str | None]] = {}  # position -> (posting, title read)
    for i, p in enumerate(req.postings):
        if p.text is None:
            out[i] = {"error": f"postings.{i}.text: field required"}
            continue
        try:
            read[i] = read_ad(p.text, p.title)
        except EmptyTextError as exc:
            out[i] = {"error": str(exc)}
    ads = [QueuedAd(posting, req.top_k, req.evidence) for posting, _ in read.values()]
    preds = await _classify(state, ads) if ads else []
    for (i, (_, title)), pred in zip(read.items(), preds):
        if isinstance(pred, BaseException):
            out[i] = {"error": _failed(pred)}
        else:
            out[i] = pred.as_answer(title, state.config.model_name)
    return out


async def _classify(state: ServeState, ads: list[QueuedAd]) -> list[Prediction | BaseException]:
    """``state.classify(ads)`` once the model is warm; 503 while it loads or the queue is full.

    Called after the request has been read, so a bad request is a 422 even while loading.
    """
    require_model(state)
    try:
        return await state.classify(ads)
    except QueueFullError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc


def _failed(exc: BaseException) -> str:
    return f"classification failed: {type(exc).__name__}: {exc}"
