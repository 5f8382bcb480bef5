"""What a labelling job did: the one summary both engines return."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LabelSummary", "min_confidence_note"]


@dataclass
class LabelSummary:
    """What a labelling job did.

    Attributes:
        rows: data records read from the input (header excluded), resumed rows included.
        rows_written: data rows in the finished output (checked: ``rows - filtered_out``).
        errors: rows with an ``error`` and no prediction.
        warnings: rows with a prediction and a ``warning:`` in ``error``.
        label_counts: predicted label -> rows.
        seconds: wall time of this call.
        resumed_from: rows already done by an interrupted run (0 for a fresh run).
        output: the output path, or ``-``.
        columns: the output header.
        notes: things the caller should tell the user (a restarted Excel run, bad header
            bytes, a sniffed delimiter, the ``min_confidence`` threshold).
        filtered_out: records left out by ``filters``.
        min_confidence: the threshold used (None: the model's own decisions).
        below_min_confidence: rows labelled Other because their best role was below it.
        delimiter: the input's delimiter (given or sniffed); None when it is not a CSV.
        to_review: classified rows in the ``review`` band (the rest are ``auto``).
    """

    rows: int
    rows_written: int
    errors: int
    warnings: int
    label_counts: dict[str, int]
    seconds: float
    resumed_from: int = 0
    output: str = "-"
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    filtered_out: int = 0
    min_confidence: float | None = None
    below_min_confidence: int = 0
    delimiter: str | None = ","
    to_review: int = 0

    @property
    def rows_per_second(self) -> float:
        """Rows classified by this call per second of wall time."""
        return (self.rows - self.resumed_from) / self.seconds if self.seconds > 0 else 0.0


def min_confidence_note(min_confidence: float, below: int) -> str:
    """The summary's note on ``--min-confidence``, the same for every engine."""
    return (
        f"--min-confidence {min_confidence:g}: {below:,} rows whose best role was below it "
        "were labelled Other (column role_below_threshold keeps that role)"
    )
