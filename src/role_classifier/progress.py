"""The one progress bar: rows done of a total, rows/s, elapsed and ETA, on standard error.

``label-csv`` draws it on a terminal; :meth:`.RoleClassifier.predict`, ``classify``,
:meth:`.RoleClassifier.encode` and :func:`.labelling.label_dataframe` draw it with
``progress=True`` (rich renders it in a notebook too). Work reports through a
:data:`ProgressCallback`, so it never needs to know how (or whether) progress is shown. rich is
imported only when a bar is drawn.

Example:
    >>> with progress_bar(False) as update:
    ...     update is None
    True
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ProgressCallback", "progress_bar"]

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(rows_done, total_rows)`` at the start and after every step.
``total_rows`` is None when unknown (standard input)."""


@contextlib.contextmanager
def progress_bar(
    enabled: bool = True,
    what: str = "labelling",
    *,
    console: Console | None = None,
    transient: bool = False,
) -> Iterator[ProgressCallback | None]:
    """A rich progress bar as a ``progress(done, total)`` callback; None when not ``enabled``.

    The first call sets the start (a resumed job starts part-way); each later call moves the bar
    and the rate.

    Args:
        enabled: False yields None, so callers pass the callback on without a branch.
        what: the bar's label (``labelling``, ``encoding``).
        console: where to draw (standard error when None).
        transient: remove the bar when done (a command that prints its result after it).

    Example:
        >>> with progress_bar(what="encoding") as update:  # doctest: +SKIP
        ...     update(0, 100)
        ...     update(100, 100)
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    console = console if console is not None else Console(stderr=True)
    with Progress(*columns, console=console, transient=transient) as bar:
        start: dict[str, float] = {}

        def update(done: int, total: int | None) -> None:
            if not start:
                start.update(t=time.perf_counter(), done=done)
                start["task"] = bar.add_task(what, total=total, completed=done, rate="")
                return
            rate = (done - start["done"]) / max(time.perf_counter() - start["t"], 1e-9)
            bar.update(int(start["task"]), completed=done, rate=f"{rate:,.1f} rows/s")

        yield update
