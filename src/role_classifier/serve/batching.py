"""Micro-batching: requests that arrive together share one forward pass.

A :class:`MicroBatcher` keeps a bounded asyncio queue of work items. Its worker takes the first
item, waits at most ``max_wait_ms`` for more (or until ``max_batch`` items are in hand), and runs
``run_batch(items)`` once, in its single model thread, so the event loop keeps accepting requests
meanwhile. While that forward runs, the next requests queue up and make the next batch: under
load, batches fill by themselves and the wait is rarely needed.

If a batch raises, every item in it is retried alone, so one bad item gets its own error and
the others their answers (the pattern LitServe uses). Items whose caller went away (a cancelled
future) are skipped.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     batcher = MicroBatcher(lambda xs: [x * 2 for x in xs], max_batch=8, max_wait_ms=2)
    ...     await batcher.start()
    ...     try:
    ...         return await asyncio.gather(*(batcher.submit(i) for i in range(3)))
    ...     finally:
    ...         await batcher.stop()
    >>> asyncio.run(demo())
    [0, 2, 4]
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["BatchStats", "MicroBatcher", "QueueFullError"]

T = TypeVar("T")
R = TypeVar("R")


class QueueFullError(RuntimeError):
    """More items are waiting than the queue holds; the caller should answer 503."""


@dataclass
class BatchStats:
    """What the worker has done, for /healthz and the benchmark."""

    batches: int = 0
    items: int = 0
    largest: int = 0
    retried_alone: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with the mean batch size."""
        mean = self.items / self.batches if self.batches else 0.0
        return {**self.__dict__, "mean": round(mean, 2)}


@dataclass(eq=False)  # compared by identity
class _Job(Generic[T]):
    item: T
    future: asyncio.Future[Any]
    key: Hashable = None
    queued: float = field(default_factory=time.perf_counter)


class MicroBatcher(Generic[T, R]):
    """Collect items for at most ``max_wait_ms`` (or ``max_batch`` of them), run them together.

    Args:
        run_batch: ``items -> results``, one result per item in order; runs in the model thread.
            Items with different ``key`` (see :meth:`submit`) never share a call.
        max_batch: items per call at most.
        max_wait_ms: how long the first item of a batch waits for company, at most.
        max_queue: items waiting at most; :meth:`submit` raises :class:`QueueFullError` beyond.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R]],
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 2048,
    ) -> None:
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Job[T]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The one model thread (other model work, like loading, runs here too)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        return self._executor

    async def start(self) -> None:
        """Start the worker task (inside a running event loop)."""
        self._queue = asyncio.Queue(maxsize=self.max_queue)
        self._worker = asyncio.create_task(self._work(), name="micro-batcher")

    async def stop(self) -> None:
        """Stop the worker, fail what is still queued, and wait for the model thread."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, item: T, key: Hashable = None) -> R:
        """Queue one item and wait for its result (or its own exception)."""
        return (await self.submit_many([item], key))[0]

    async def submit_many(
        self, items: Sequence[T], key: Hashable = None, return_exceptions: bool = False
    ) -> list[Any]:
        """Queue several items at once (all or none) and wait for all their results.

        Args:
            key: items are only batched with items of an equal key.
            return_exceptions: put an item's exception in its place instead of raising it.

        Raises:
            QueueFullError: the queue cannot take all of them now.
        """
        if self._queue is None or self._worker is None:
            raise RuntimeError("the batcher is not running")
        if self._queue.qsize() + len(items) > self.max_queue:
            raise QueueFullError(
                f"{self._queue.qsize()} postings are waiting (at most {self.max_queue}); retry soon"
            )
        loop = asyncio.get_running_loop()
        jobs = [_Job(item, loop.create_future(), key) for item in items]
        for job in jobs:
            self._queue.put_nowait(job)
        try:
            return await asyncio.gather(
                *(j.future for j in jobs), return_exceptions=return_exceptions
            )
        except BaseException:
            for job in jobs:  # the caller went away: let the worker skip what is left
                job.future.cancel()
            raise

    async def _work(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        held: list[_Job[T]] = []  # items taken from the queue that belong to a later batch
        while True:
            first = held.pop(0) if held else await self._queue.get()
            same = [j for j in held if j.key == first.key][: self.max_batch - 1]
            held = [j for j in held if j not in same]
            batch = [first, *same]
            deadline = loop.time() + self.max_wait_ms / 1000
            while len(batch) < self.max_batch and len(held) < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), timeout)
                    except asyncio.TimeoutError:
                        break
                (batch if job.key == first.key else held).append(job)
            batch = [j for j in batch if not j.future.done()]
            if batch:
                await self._run(loop, batch)

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Job[T]]) -> None:
        items = [j.item for j in batch]
        try:
            results = await loop.run_in_executor(self.executor, self._call, items)
        except Exception:
            results = None
        if results is not None:
            self._count(len(batch))
            for job, result in zip(batch, results):
                if not job.future.done():
                    job.future.set_result(result)
            return
        for job in batch:  # the batch failed: each item alone, so only the bad one fails
            if job.future.done():
                continue
            try:
                result = (await loop.run_in_executor(self.executor, self._call, [job.item]))[0]
            except Exception as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
                continue
            finally:
                self.stats.retried_alone += 1
            self._count(1)
            if not job.future.done():
                job.future.set_result(result)

    def _call(self, items: list[T]) -> Sequence[R]:
        results = self.run_batch(items)
        if len(results) != len(items):
            raise RuntimeError(f"run_batch gave {len(results)} results for {len(items)} items")
        return results

    def _count(self, n: int) -> None:
        self.stats.batches += 1
        self.stats.items += n
        self.stats.largest = max(self.stats.largest, n)
