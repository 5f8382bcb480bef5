"""One row of a labelling job: checked, classified in a batch, turned into output cells.

The one per-row path of every engine (local, Ray, the server's CSV jobs, DataFrames): a record
becomes a :class:`Row` (a posting to classify, or an error), a :class:`Labeller` classifies a
batch of them in one pass (retrying one by one when the batch fails), and
:meth:`Labeller.values` gives the cells appended to each record, in
:meth:`.LabelOptions.columns` order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import io as fileio
from ..modeling.model import Prediction, RoleClassifier
from ..progress import ProgressCallback
from ..text import Posting, is_missing, language_warning, text_check
from .options import LabelOptions, check_header

__all__ = ["Labeller", "Row", "chunks", "label_records", "prepare"]


@dataclass
class Row:
    """One input record, ready to classify (``posting``) or already failed (``error``)."""

    cells: list[Any]
    posting: Posting | None = None
    error: str | None = None
    warning: str | None = None
    label: str | None = None
    confidence: float | None = None
    runner_ups: list[tuple[str, float]] = field(default_factory=list)
    below_threshold: str | None = None
    evidence: list[str] | None = None
    scores: dict[str, float] | None = None
    review: str | None = None


def prepare(
    cells: list[Any],
    notes: list[str],
    n_cols: int,
    text_idx: int,
    title_idx: int | None,
    error: str | None = None,
) -> Row:
    """A record's cells as a :class:`Row`: unreadable (``error``: a JSON line that is not an
    object), ragged, blank or empty records become errors, and so do cells that are not text
    (:func:`.text.text_problem`: None or a DataFrame's NaN is an empty cell, a number or a list
    from JSON lines, Parquet or Excel an error).

    Example:
        >>> prepare(["1", 42], [], 2, 1, None).error
        'text is not a string (int)'
    """
    warnings = list(notes)
    warning = "; ".join(warnings) or None
    if error is not None:
        return Row(cells if len(cells) == n_cols else [None] * n_cols, error=error, warning=warning)
    if not cells:
        return Row([""] * n_cols, error="blank line", warning=warning)
    if len(cells) != n_cols:  # ragged: the same rule as fileio.Record.ragged_message
        record = fileio.Record(0, cells, n_cols)
        padded = cells[:n_cols] + [""] * (n_cols - len(cells))
        return Row(padded, error=record.ragged_message(), warning=warning)
    description = cells[text_idx]
    title = cells[title_idx] if title_idx is not None else None
    problem, has_description = text_check(description, title)  # each cell cleaned once
    if problem is not None:
        return Row(cells, error=problem, warning=warning)
    description = "" if is_missing(description) else description
    title = None if is_missing(title) else title
    if not has_description:
        warnings.append("empty text; classified from the title alone")
    elif language := language_warning(description):  # the model reads English
        warnings.append(language)
    return Row(
        cells, Posting(description=description, title=title), warning="; ".join(warnings) or None
    )


def chunks(
    reader: fileio.RecordReader,
    header: Sequence[str],
    options: LabelOptions,
    keep: fileio.RowFilter,
) -> Iterator[tuple[list[Row], int]]:
    """Chunks of up to ``batch_size`` prepared rows, each with the input records it consumed
    (records left out by ``keep`` included). Ragged and unreadable rows are kept whatever the
    filters say, so they show up as errors."""
    text_idx, title_idx = check_header(header, options)
    chunk: list[Row] = []
    consumed = 0
    for record in reader:
        consumed += 1
        readable = record.error is None and not record.ragged
        if readable and not keep(record.cells):
            continue
        chunk.append(
            prepare(record.cells, record.notes, len(header), text_idx, title_idx, record.error)
        )
        if len(chunk) == options.batch_size:
            yield chunk, consumed
            chunk, consumed = [], 0
    if chunk or consumed:
        yield chunk, consumed


class Labeller:
    """Fills label, confidence, runner-ups (and evidence, scores) of a batch of rows in one pass.

    If the batch fails, its rows are retried one by one so that one bad row cannot sink its
    batch; but when many rows in a row fail, the model is broken, not the rows, and it raises.

    Example:
        >>> labeller = Labeller(clf, LabelOptions(text_column="description"))  # doctest: +SKIP
        >>> labeller.values([prepare(["Build RAG agents"], [], 1, 0, None)])  # doctest: +SKIP
        [['AI Engineer', 0.81, 'ML Engineer', 0.07, None]]
    """

    max_failures_in_a_row = 8

    def __init__(self, clf: RoleClassifier, options: LabelOptions) -> None:
        self.clf, self.options, self.streak = clf, options, 0

    def __call__(self, rows: Sequence[Row]) -> None:
        todo = [r for r in rows if r.posting is not None and r.error is None]
        if not todo:
            return
        try:
            classify_batch(self.clf, todo, self.options)
            self.streak = 0
            return
        except Exception:
            pass
        for row in todo:
            try:
                classify_batch(self.clf, [row], self.options)
                self.streak = 0
            except Exception as exc:
                row.error = f"classification failed: {type(exc).__name__}: {exc}"
                self.streak += 1
                if self.streak >= self.max_failures_in_a_row:
                    raise RuntimeError(
                        f"{self.streak} rows in a row failed to classify, the last with "
                        f"{type(exc).__name__}: {exc}. The model looks broken, not the rows"
                    ) from exc

    def values(self, rows: Sequence[Row]) -> list[list[Any]]:
        """Classify ``rows`` and return their output values (the one path of every engine)."""
        self(rows)
        return [output_values(row, self.options, self.clf.labels) for row in rows]


def classify_batch(clf: RoleClassifier, rows: Sequence[Row], options: LabelOptions) -> None:
    """One :meth:`RoleClassifier.classify` pass; each row takes the model's label, scores and
    review band as the model returned them.

    ``min_confidence`` is the user's rule on top of that decision, never a second decision: a
    role the model gave with a probability below it becomes Other (the role is kept in
    ``below_threshold``). It is the model's abstain rule (:func:`.modeling.head.abstain`) with
    the user's threshold: a role the model decides is its best role, so its probability is
    the prediction's confidence. The review band stays the model's, for the model's decision.
    """
    postings = [r.posting for r in rows if r.posting is not None]
    preds = clf.classify(postings, top_k=options.top_k, evidence=options.evidence)
    other = clf.taxonomy.other_label
    for row, pred in zip(rows, preds, strict=True):
        row.label, row.confidence, row.runner_ups = pred.label, pred.confidence, pred.runner_ups
        row.review = pred.review
        if _below(pred, other, options.min_confidence):
            row.below_threshold, row.label = pred.label, other
            row.confidence = pred.scores[other]
            ranked = sorted(pred.scores.items(), key=lambda kv: -kv[1])
            row.runner_ups = [(k, v) for k, v in ranked if k != other][: options.top_k]
        row.evidence = list(pred.evidence) if options.evidence else None
        row.scores = dict(pred.scores) if options.all_scores else None
        if pred.warning:  # the model's own note on the input (e.g. no duty text found)
            row.warning = "; ".join(w for w in (row.warning, pred.warning) if w)


def _below(pred: Prediction, other: str, min_confidence: float | None) -> bool:
    """Whether the user's ``min_confidence`` turns the model's role into Other."""
    return bool(min_confidence) and pred.label != other and pred.confidence < min_confidence


def output_values(row: Row, options: LabelOptions, labels: Sequence[str]) -> list[Any]:
    """The appended cells (see :meth:`LabelOptions.columns`), None where empty."""
    values: list[Any] = [row.label, row.confidence]
    for k in range(options.top_k):
        name, score = row.runner_ups[k] if k < len(row.runner_ups) else (None, None)
        values += [name, score]
    if options.min_confidence is not None:
        values.append(row.below_threshold)
    if options.evidence > 0:
        values.append(row.evidence)
    if options.all_scores:
        values += [row.scores[label] if row.scores else None for label in labels]
    values.append(row.review if row.label is not None else None)
    messages = [m for m in (row.error, f"warning: {row.warning}" if row.warning else None) if m]
    values.append("; ".join(messages) or None)
    return values


def label_records(
    clf: RoleClassifier,
    records: Sequence[Sequence[Any]],
    header: Sequence[Any],
    options: LabelOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    **fields: Any,
) -> list[list[Any]]:
    """The output values a job appends to each record, for records already read.

    The same per-row path as :func:`.local.label_csv` (checks, batched passes of
    ``batch_size`` rows, retry one by one, error and warning text), for other engines
    (:mod:`.ray`, :func:`.frame.label_dataframe`) to reuse.

    Args:
        clf: the classifier.
        records: rows of cells in ``header`` order (more or fewer cells, or a text cell that
            is not text: an error row); cells are strings from a CSV, or any values from JSON
            lines, Parquet, Excel or a DataFrame (see :func:`prepare`).
        header: the column names.
        options: the job's options (its ``filters`` are not applied here), or its fields as
            keywords (``text_column="description"``, ...).
        progress: ``progress(rows_done, total_rows)`` at the start and after every batch.

    Returns:
        one list per record, in :meth:`LabelOptions.columns` order; floats unrounded, None where
        empty.

    Raises:
        MissingColumnError, ColumnClashError: the text or title column is absent or repeated.

    Example:
        >>> label_records(clf, [["Build RAG agents"], [""]], ["description"],
        ...               LabelOptions(text_column="description"))  # doctest: +SKIP
        [['AI Engineer', 0.81, 'ML Engineer', 0.07, None], [None, None, None, None, 'empty text']]
    """
    options = options if options is not None else LabelOptions(**fields)
    header = list(header)
    text_idx, title_idx = check_header(header, options.replace(filters={}))
    labeller, out, step = Labeller(clf, options), [], options.batch_size
    if progress is not None:
        progress(0, len(records))
    for start in range(0, len(records), step):
        chunk = records[start : start + step]
        rows = [prepare(list(cells), [], len(header), text_idx, title_idx) for cells in chunk]
        out.extend(labeller.values(rows))
        if progress is not None:
            progress(len(out), len(records))
    return out
