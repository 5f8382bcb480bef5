"""What one served app holds: its config, the model and its lock, the batcher, the CSV jobs, and
whether the model is warm.

:func:`~.app.create_app` stores one :class:`ServeState` as ``app.state.serve``; the app's lifespan
calls :meth:`ServeState.start` and :meth:`ServeState.stop`. Routes reach it through the
dependencies at the end (``state: StateDep``, ``state: ReadyStateDep``), never through closures.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ..modeling.model import Prediction, RoleClassifier
from ..text import Posting
from ..threads import thread_limits
from .batching import MicroBatcher
from .jobs import CsvJobs

__all__ = [
    "QueuedAd",
    "ReadyStateDep",
    "ServeConfig",
    "ServeState",
    "StateDep",
    "get_state",
    "require_model",
]

log = logging.getLogger("role_classifier.serve")
_WARM_UP = Posting(
    "You will deploy machine learning models to production and run the serving platform.",
    "ML Engineer",
)


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


@dataclass(frozen=True)
class QueuedAd:
    """One posting for the batcher and how to answer it; only equal options share a batch."""

    posting: Posting
    top_k: int
    evidence: int


class ServeState:
    """The model kept warm for one app: every forward pass goes through :attr:`batcher`.

    The batcher's one model thread and the CSV jobs share the model, and its encoder holds
    :attr:`lock` around every forward pass (whatever asks for it: predictions, evidence, the role
    embeddings, a CSV's chunks), so their passes take turns. The backbone loads in the background
    once the app starts; until then :attr:`ready` is False (and :attr:`load_error` says why, if
    loading failed).

    Args:
        model: the classifier to serve.
        config: names, limits and batching.
    """

    def __init__(self, model: RoleClassifier, config: ServeConfig) -> None:
        self.model = model
        self.config = config
        self.lock = threading.RLock()
        """held by the model's encoder around each forward pass (set when the backbone loads)."""
        self.batcher: MicroBatcher[QueuedAd, Prediction] = MicroBatcher(
            self._run_batch, config.max_batch, config.max_wait_ms, config.max_queue
        )
        self.ready = False
        self.load_error: str | None = None
        self._jobs: CsvJobs | None = None
        self._loading: asyncio.Task[None] | None = None

    @property
    def jobs(self) -> CsvJobs:
        """The CSV jobs (from :meth:`start` to :meth:`stop`)."""
        if self._jobs is None:
            raise RuntimeError("the app has not started: use it inside its lifespan")
        return self._jobs

    async def start(self) -> None:
        """Start the batcher and the CSV jobs, and begin loading the model in the background."""
        await self.batcher.start()
        cfg = self.config
        self._jobs = CsvJobs(self.model, cfg.workers, cfg.max_csv_jobs)
        self._loading = asyncio.create_task(self._load())

    async def stop(self) -> None:
        """Stop loading, cancel the CSV jobs and delete their files, stop the batcher."""
        if self._loading is not None:
            self._loading.cancel()
        if self._jobs is not None:
            self._jobs.close()
        await self.batcher.stop()

    async def classify(self, ads: list[QueuedAd]) -> list[Prediction | BaseException]:
        """The predictions for ``ads`` (of equal options), in order; a failed ad gets its error.

        Raises:
            QueueFullError: the batcher's queue cannot take them now.
        """
        if not ads:
            return []
        key = (ads[0].top_k, ads[0].evidence)
        return await self.batcher.submit_many(ads, key=key, return_exceptions=True)

    def _run_batch(self, items: list[QueuedAd]) -> list[Prediction]:
        with thread_limits(self.config.workers):  # forward passes hold the encoder's lock
            out = self.model.classify(
                [a.posting for a in items], top_k=items[0].top_k, evidence=items[0].evidence
            )
        return out  # type: ignore[return-value]

    def _warm_up(self) -> None:
        with thread_limits(self.config.workers):
            self.model.encoder.use_lock(self.lock)  # loads the backbone; every pass holds the lock
            self.model.classify(_WARM_UP, evidence=1)  # embeds the role prototypes

    async def _load(self) -> None:
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(self.batcher.executor, self._warm_up)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("the model failed to load: %s", self.load_error)
            return
        self.ready = True
        log.info("model %s ready in %.1f s", self.config.model_name, time.perf_counter() - started)


# -- dependencies ---------------------------------------------------------------------------------
def get_state(request: Request) -> ServeState:
    """The app's :class:`ServeState` (a dependency: ``state: StateDep``)."""
    state: ServeState = request.app.state.serve
    return state


def require_model(state: Annotated[ServeState, Depends(get_state)]) -> ServeState:
    """The state once its model is warm; 503 with ``Retry-After`` while it loads or if it failed.

    A dependency (``state: ReadyStateDep``) where the check comes first; a route that validates
    its input before it needs the model calls it directly, at that point.
    """
    if not state.ready:
        why = state.load_error or "the model is still loading"
        raise HTTPException(503, why, headers={"Retry-After": "2"})
    return state


StateDep = Annotated[ServeState, Depends(get_state)]
ReadyStateDep = Annotated[ServeState, Depends(require_model)]
