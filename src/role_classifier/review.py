"""The review queue: which labelled postings are worth a person's time, most useful first.

The input is ``label-csv --all-scores`` output (any format the readers read). The rule, in order:

1. **The review band first.** Rows the model marked ``review`` come before ``auto`` rows (the
   band is where its answers fall short of the target precision); rows with an error are left out.
2. **Least sure first.** Within a band, rows are taken by their *margin*: the best role's
   calibrated probability minus the runner-up's (from the ``score_<role>`` columns). A small
   margin is where a correction moves the boundary most.
3. **Spread over roles, months and companies.** Each row already taken with the same predicted
   role adds ``role_spread`` (0.1) to a row's margin, with the same company ``company_spread``
   (0.05) and the same month ``month_spread`` (0.05), where the file has those columns. So a feed
   whose unsure rows are mostly one company's near-identical ads still shows every role and
   month early, and 50 corrections do not teach one boundary 50 times.

``benchmarks/bench_adapt.py`` measures this order against a random one.

Example:
    >>> queue = build_queue("labelled.csv")  # doctest: +SKIP
    >>> queue.rows[0]["margin"]  # doctest: +SKIP
    0.02
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corrections import CorrectionsError, corrections_path, read_corrections, read_table

__all__ = ["QUEUE_COLUMNS", "Queue", "build_queue", "queue_order", "write_queue"]

SCORE_PREFIX = "score_"
QUEUE_COLUMNS = [
    "rank",
    "id",
    "title",
    "description",
    "predicted_role",
    "confidence",
    "runner_up",
    "margin",
    "review",
    "company",
    "month",
    "correct_role",
]
"""The exported queue's columns; ``correct_role`` is left empty for the person to fill."""
_MONTH_COLUMNS = ("month", "date", "posted_at", "created_at")


@dataclass(frozen=True)
class Spread:
    """What a row already taken with the same role, company or month adds to a row's margin."""

    role: float = 0.1
    company: float = 0.05
    month: float = 0.05


@dataclass
class Queue:
    """The rows to review, most useful first, with what the page and the export need."""

    rows: list[dict[str, Any]]
    labels: list[str]
    source: str
    skipped_errors: int = 0
    answered: dict[str, str] = field(default_factory=dict)
    """id -> the role already given in the corrections file (those rows leave the queue)."""
    unknown_ids: list[str] = field(default_factory=list)
    """ids in the corrections file that the labelled file does not have."""


def queue_order(
    margins: Sequence[float],
    in_review: Sequence[bool],
    roles: Sequence[str],
    companies: Sequence[str] | None = None,
    months: Sequence[str] | None = None,
    spread: Spread = Spread(),
) -> list[int]:
    """Row indices in queue order (the module's rule): review band first, then by margin plus
    the spread penalties, greedily (a lazy heap: a row's priority only grows as rows are taken).

    Example:
        >>> queue_order([0.1, 0.15, 0.05, 0.5], [True, True, True, False], ["A", "B", "A", "A"])
        [2, 1, 0, 3]
    """
    n = len(margins)
    companies = companies or [""] * n
    months = months or [""] * n
    taken: Counter[tuple[str, str]] = Counter()

    def priority(i: int) -> tuple[int, float]:
        extra = spread.role * taken["role", roles[i]]
        extra += spread.company * taken["company", companies[i]] if companies[i] else 0.0
        extra += spread.month * taken["month", months[i]] if months[i] else 0.0
        return (0 if in_review[i] else 1, float(margins[i]) + extra)

    heap = [(*priority(i), i) for i in range(n)]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        band, value, i = heapq.heappop(heap)
        now = priority(i)
        if now > (band, value) and heap and now > heap[0][:2]:
            heapq.heappush(heap, (*now, i))
            continue
        order.append(i)
        taken["role", roles[i]] += 1
        taken["company", companies[i]] += 1
        taken["month", months[i]] += 1
    return order


def _score_columns(header: Sequence[str], path: str | Path) -> list[str]:
    labels = [c[len(SCORE_PREFIX) :] for c in header if c.startswith(SCORE_PREFIX)]
    if len(labels) < 2 or "predicted_role" not in header:
        raise CorrectionsError(
            f"{path} has no score columns: review reads `label-csv --all-scores` output "
            "(predicted_role and one score_<role> column per role)"
        )
    return labels


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _queue_row(row: dict[str, Any], number: int, labels: list[str], columns: dict) -> dict:
    scores = sorted(((_number(row.get(SCORE_PREFIX + lab)), lab) for lab in labels), reverse=True)
    (best, best_label), (second, runner) = scores[0], scores[1]
    text = row.get(columns["text"])
    return {
        "id": str(row.get("id") or f"row {number}"),
        "title": str(row.get(columns["title"]) or "") if columns["title"] else "",
        "description": "" if text is None else str(text),
        "predicted_role": str(row.get("predicted_role") or best_label),
        "confidence": round(best, 4),
        "runner_up": runner,
        "margin": round(best - second, 4),
        "review": str(row.get("review") or "review"),
        "company": str(row.get("company") or ""),
        "month": str(row.get(columns["month"]) or "")[:7] if columns["month"] else "",
        "scores": {lab: _number(row.get(SCORE_PREFIX + lab)) for lab in labels},
        "correct_role": "",
    }


def build_queue(
    labelled: str | Path,
    text_column: str = "description",
    title_column: str | None = "title",
    corrections: str | Path | None = None,
    spread: Spread = Spread(),
) -> Queue:
    """The review queue of a labelled file, without the rows already corrected.

    Args:
        corrections: the corrections file already made for it (default:
            ``LABELLED.corrections.csv``, the page's, where it exists); ids it answers leave
            the queue, ids the labelled file lacks are listed in :attr:`Queue.unknown_ids`.

    Raises:
        CorrectionsError: a missing or empty file, no text or score columns.
    """
    header, table = read_table(labelled)
    labels = _score_columns(header, labelled)
    if text_column not in header:
        raise CorrectionsError(
            f"{labelled}: no text column {text_column!r}; its columns are: {', '.join(header)}"
        )
    columns = {
        "text": text_column,
        "title": title_column if title_column in header else None,
        "month": next((c for c in _MONTH_COLUMNS if c in header), None),
    }
    usable = [(n, r) for n, r in enumerate(table, start=1) if not str(r.get("error") or "")]
    rows = [_queue_row(r, n, labels, columns) for n, r in usable]
    queue = Queue([], labels, str(labelled), skipped_errors=len(table) - len(usable))
    _drop_answered(queue, rows, labelled, corrections)
    order = queue_order(
        [r["margin"] for r in rows],
        [r["review"] != "auto" for r in rows],
        [r["predicted_role"] for r in rows],
        [r["company"] for r in rows] if "company" in header else None,
        [r["month"] for r in rows] if columns["month"] else None,
        spread,
    )
    queue.rows = [{**rows[i], "rank": rank} for rank, i in enumerate(order, start=1)]
    return queue


def _drop_answered(
    queue: Queue, rows: list[dict], labelled: str | Path, corrections: str | Path | None
) -> None:
    """Take the rows the corrections file answers out of ``rows``; note its unknown ids."""
    path = Path(corrections) if corrections is not None else corrections_path(labelled)
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        found = read_corrections(path)
    except CorrectionsError as exc:
        if "no corrections" in str(exc):  # every answer withdrawn
            return
        raise
    queue.answered = dict(zip(found.ids, found.labels))
    known = {r["id"] for r in rows}
    queue.unknown_ids = [i for i in found.ids if i not in known]
    rows[:] = [r for r in rows if r["id"] not in queue.answered]


def write_queue(queue: Queue, output: str | Path, limit: int | None = None) -> int:
    """Write the queue (its review band, or the first ``limit`` rows) with an empty
    ``correct_role`` column, in the format its name says (:func:`.io.output_format_for`: a CSV
    starts with a BOM so Excel reads it as UTF-8; ``.xlsx`` is a sheet); returns the rows written.
    """
    from .io import RowWriter, output_format_for, output_gzipped

    rows = queue.rows
    if limit is None:
        band = [r for r in rows if r["review"] != "auto"]
        rows = band or rows[:50]
    else:
        rows = rows[:limit]
    fmt = output_format_for(output)
    with open(output, "wb") as f:
        writer = RowWriter(
            f, fmt, list(QUEUE_COLUMNS), bom=fmt in ("csv", "tsv"), gzipped=output_gzipped(output)
        )
        writer.write_header()
        writer.write([[r.get(c) for c in QUEUE_COLUMNS] for r in rows])
        writer.close()
    return len(rows)
