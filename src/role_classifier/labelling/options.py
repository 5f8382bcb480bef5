"""The one options object of a labelling job, and the output columns it implies.

:class:`LabelOptions` is what the local engine, the Ray engine, :class:`.ray.RoleLabeller`, the
server's CSV jobs and the resume checkpoint all take: it is validated once, when it is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import io as fileio
from .errors import (
    ColumnClashError,
    InputFormatError,
    LabelCsvError,
    MissingColumnError,
    OutputError,
)

__all__ = [
    "SCORE_PREFIX",
    "LabelOptions",
    "check_header",
    "column_index",
    "column_types",
    "output_columns",
]

SCORE_PREFIX = "score_"
"""``--all-scores`` adds one column per label named ``score_<label>`` (``score_ML Engineer``)."""


@dataclass(frozen=True)
class LabelOptions:
    """What to read and what to add to each row; the same for every engine.

    Attributes:
        text_column: the column holding the posting's description.
        title_column: an optional column holding its title.
        top_k: runner-up roles written per row (``runner_up``, ``runner_up_2``, ...).
        min_confidence: a decided role whose probability is below this becomes Other; the role
            is kept in a ``role_below_threshold`` column.
        evidence: with N > 0, an ``evidence`` column holds the N sentences that most support
            each decision.
        all_scores: add one ``score_<label>`` column per label with its calibrated probability.

    Every job also writes ``review`` (``auto`` or ``review``: the model's review band) and
    ``error``.
        batch_size: rows classified, written and checkpointed together.
        output_format: ``csv``, ``tsv``, ``jsonl``, ``parquet`` or ``xlsx`` instead of OUTPUT's
            extension.
        bom: start CSV or TSV output with a UTF-8 byte-order mark (``utf-8-sig``), so Excel
            reads its accents as UTF-8 (:func:`.checkpoint.check_paths` refuses it for other
            outputs; local engine only).
        delimiter: the input's delimiter (one character, or ``tab``); sniffed when None.
        filters: ``{column: [values]}``: label only records whose cell is one of the values.

    Raises:
        LabelCsvError: a value out of range, with a message saying which.

    Example:
        >>> opts = LabelOptions(text_column="description", top_k=0, min_confidence=0.6)
        >>> opts.columns()
        ['predicted_role', 'confidence', 'role_below_threshold', 'review', 'error']
        >>> LabelOptions(text_column="description", top_k=-1)
        Traceback (most recent call last):
        role_classifier.labelling.errors.LabelCsvError: top_k must be at least 0, got -1
    """

    text_column: str
    title_column: str | None = None
    top_k: int = 1
    min_confidence: float | None = None
    evidence: int = 0
    all_scores: bool = False
    batch_size: int = 64
    output_format: str | None = None
    delimiter: str | None = None
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    bom: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise LabelCsvError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.top_k < 0:
            raise LabelCsvError(f"top_k must be at least 0, got {self.top_k}")
        if self.evidence < 0:
            raise LabelCsvError(f"evidence must be at least 0, got {self.evidence}")
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            raise LabelCsvError(
                f"min_confidence must be between 0 and 1, got {self.min_confidence}"
            )
        try:
            delimiter = fileio.parse_delimiter(self.delimiter)
        except fileio.CsvInputError as exc:
            raise InputFormatError(str(exc)) from None
        if self.output_format is not None:
            try:
                fmt = fileio.output_format_for("-", self.output_format)
            except fileio.OutputPathError as exc:
                raise OutputError(str(exc)) from None
            object.__setattr__(self, "output_format", fmt)
        object.__setattr__(self, "delimiter", delimiter)
        filters = {str(k): tuple(sorted(str(v) for v in vs)) for k, vs in self.filters.items()}
        object.__setattr__(self, "filters", filters)

    def replace(self, **changes: Any) -> LabelOptions:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def columns(self, labels: Sequence[str] = ()) -> list[str]:
        """The columns a job appends to the input's (score columns need the model's labels)."""
        return output_columns(
            self.top_k,
            min_confidence=self.min_confidence is not None,
            evidence=self.evidence > 0,
            score_labels=labels if self.all_scores else (),
        )

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed run must share with the interrupted one (the checkpoint stores it)."""
        out = {
            "text_column": self.text_column,
            "title_column": self.title_column,
            "top_k": self.top_k,
            "batch_size": self.batch_size,
            "filters": {k: list(v) for k, v in self.filters.items()},
            "min_confidence": self.min_confidence,
            "evidence": self.evidence,
        }
        if self.all_scores:  # absent when off, so checkpoints of earlier runs still match
            out["all_scores"] = True
        if self.bom:
            out["bom"] = True
        return out


def output_columns(
    top_k: int = 1,
    *,
    min_confidence: bool = False,
    evidence: bool = False,
    score_labels: Sequence[str] = (),
) -> list[str]:
    """The columns a labelling job appends to the input's.

    Args:
        top_k: runner-up roles per row.
        min_confidence: with a ``min_confidence`` threshold: adds ``role_below_threshold``.
        evidence: with ``evidence`` sentences: adds ``evidence``.
        score_labels: with ``all_scores``: the model's labels, one ``score_<label>`` each.

    Example:
        >>> output_columns(2)
        ['predicted_role', 'confidence', 'runner_up', 'runner_up_score', 'runner_up_2', \
'runner_up_2_score', 'review', 'error']
        >>> output_columns(0, min_confidence=True, evidence=True)
        ['predicted_role', 'confidence', 'role_below_threshold', 'evidence', 'review', 'error']
        >>> output_columns(0, score_labels=["AI Engineer", "Other"])
        ['predicted_role', 'confidence', 'score_AI Engineer', 'score_Other', 'review', 'error']
    """
    cols = ["predicted_role", "confidence"]
    for k in range(1, top_k + 1):
        name = "runner_up" if k == 1 else f"runner_up_{k}"
        cols += [name, f"{name}_score"]
    if min_confidence:
        cols.append("role_below_threshold")
    if evidence:
        cols.append("evidence")
    cols += [SCORE_PREFIX + label for label in score_labels]
    return [*cols, "review", "error"]


def column_types(columns: Sequence[str]) -> list[str]:
    """``float``, ``list`` or ``string`` per output column, as every writer types them."""
    return [
        "float"
        if c == "confidence"
        or c.startswith(SCORE_PREFIX)
        or (c.startswith("runner_up") and c.endswith("_score"))
        else "list"
        if c == "evidence"
        else "string"
        for c in columns
    ]


def column_index(header: Sequence[str], name: str, what: str) -> int:
    """Where column ``name`` is in ``header``; it must be there exactly once.

    Raises:
        MissingColumnError: not there (the message lists the columns).
        ColumnClashError: there more than once.
    """
    hits = [i for i, h in enumerate(header) if h == name]
    if not hits:
        shown = ", ".join(repr(h) for h in header)
        raise MissingColumnError(f"no {what} column {name!r}; the input's columns are: {shown}")
    if len(hits) > 1:
        where = ", ".join(str(i + 1) for i in hits)
        raise ColumnClashError(
            f"the {what} column {name!r} appears {len(hits)} times (columns {where}); "
            "rename the copies so it is clear which one to read"
        )
    return hits[0]


def check_header(
    header: Sequence[str], options: LabelOptions, labels: Sequence[str] = ()
) -> tuple[int, int | None]:
    """The header rules of every engine: the text and title columns are there once, the filter
    columns are there, and no column the job adds is there already. Returns the text and title
    column indices.

    Raises:
        MissingColumnError, ColumnClashError: with the columns the input has.
    """
    text = column_index(header, options.text_column, "text")
    title = None
    if options.title_column is not None:
        title = column_index(header, options.title_column, "title")
    missing = [col for col in options.filters if col not in header]
    if missing:
        shown = ", ".join(repr(h) for h in header)
        raise MissingColumnError(
            f"no filter column {', '.join(map(repr, missing))}; the input's columns are: {shown}"
        )
    clash = [c for c in options.columns(labels) if c in header]
    if clash:
        raise ColumnClashError(
            f"the input already has column(s) {', '.join(map(repr, clash))} that label-csv adds "
            "(is it an earlier label-csv output?); drop or rename them first"
        )
    return text, title
