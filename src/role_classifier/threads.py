"""One thread policy for every command: as many threads as cores, and no pool fighting another.

On 2 cores, competing thread pools (torch's intra-op pool, OpenBLAS or MKL under numpy and
scipy, OpenMP, ONNX Runtime's own pool) slow each other down many times over. Every command
that runs the model or fits a head does it inside :func:`thread_limits`, which

* caps the BLAS and OpenMP pools (through threadpoolctl) at ``workers``;
* sets torch's intra-op threads to ``workers`` when torch is already imported (never imports it);
* tells ONNX Runtime sessions created inside it to use ``workers`` intra-op threads
  (:func:`current_workers`).

Nothing changes at import time, and everything is restored on exit.

Example:
    >>> from role_classifier.threads import current_workers, thread_limits
    >>> with thread_limits(1):
    ...     current_workers()
    1
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from collections.abc import Iterator

__all__ = ["current_workers", "default_workers", "thread_limits"]

_WORKERS: contextvars.ContextVar[int | None] = contextvars.ContextVar("workers", default=None)


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def current_workers() -> int:
    """Threads the model should use now: the innermost :func:`thread_limits`, else one a core."""
    return _WORKERS.get() or default_workers()


@contextlib.contextmanager
def thread_limits(workers: int | None = None) -> Iterator[int]:
    """Run a block with ``workers`` threads in every pool (one per core when None).

    Yields:
        the number of threads in force.
    """
    n = max(1, workers) if workers else default_workers()
    token = _WORKERS.set(n)
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=n):
            if torch is not None:
                torch.set_num_threads(n)
            yield n
    finally:
        if torch is not None and old_torch is not None:
            torch.set_num_threads(old_torch)
        _WORKERS.reset(token)
