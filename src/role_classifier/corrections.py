"""Corrections: a person's answers for postings the model was unsure of, read and appended.

A corrections file is any table the input readers read (CSV, JSON lines, Parquet, Excel;
:func:`role_classifier.io.open_input`) with a text column, an optional title and id, and a
role column: ``correct_role`` (what ``role-classifier review --export`` leaves empty and the page
fills) or ``label``. Rows whose role cell is empty are not corrections (an unfinished queue) and
are skipped; when two rows share an id the last one wins, and the count is reported; a later row
of an id with an empty role withdraws its answer (how the page records an undo).

The page appends each answer to ``LABELLED.corrections.csv`` as it is made
(:func:`append_correction`), flushed to disk at once, so closing the page loses nothing.

Example:
    >>> found = read_corrections("queue.csv")  # doctest: +SKIP
    >>> len(found.labels), found.replaced  # doctest: +SKIP
    (48, 2)
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .text import Posting

__all__ = [
    "CORRECTION_COLUMNS",
    "LABEL_COLUMNS",
    "Corrections",
    "CorrectionsError",
    "append_correction",
    "corrections_path",
    "read_corrections",
    "read_table",
]

LABEL_COLUMNS = ("correct_role", "label")
"""The role column a corrections file uses when none is named: the first of these it has."""
CORRECTION_COLUMNS = ["id", "title", "description", "correct_role", "model_role", "corrected_at"]
"""The columns of the file the page appends to (a valid corrections file for ``adapt``)."""


class CorrectionsError(UserError):
    """A corrections (or labelled) file that cannot be used; the message is one line."""


@dataclass
class Corrections:
    """The corrections of one file, in file order, one per id (the last one given)."""

    postings: list[Posting]
    labels: list[str]
    ids: list[str]
    source: str
    replaced: int = 0
    """rows dropped because a later row gave the same id another (or the same) answer."""
    disagreeing: int = 0
    """ids whose rows gave different roles (the last one won)."""
    unanswered: int = 0
    """rows with an empty role cell (not corrections)."""
    withdrawn: int = 0
    """answers taken back by a later row of the same id with an empty role (the page's undo)."""
    notes: list[str] = field(default_factory=list)

    def per_label(self) -> dict[str, int]:
        """Corrections per role."""
        out: dict[str, int] = {}
        for label in self.labels:
            out[label] = out.get(label, 0) + 1
        return dict(sorted(out.items()))


def read_table(path: str | Path, delimiter: str | None = None) -> tuple[list[str], list[dict]]:
    """The header and the rows (column -> cell, ``None`` for a missing cell) of any input file.

    Rows that cannot be read (a line that is not JSON, more cells than the header) are dropped,
    and so are blank lines.

    Raises:
        CorrectionsError: the file is missing, unreadable or has no rows.
    """
    from .io import open_input

    rows = []
    try:
        with open_input(path, delimiter=delimiter) as reader:
            header = list(reader.header)
            for record in reader:
                if record.error is not None or record.blank or len(record.cells) > len(header):
                    continue
                rows.append(dict(zip(header, record.cells)))
    except UserError as exc:
        raise CorrectionsError(str(exc)) from exc
    if not rows:
        raise CorrectionsError(f"{path} has no rows")
    return header, rows


def _cell(row: dict[str, Any], column: str | None) -> str:
    value = row.get(column) if column else None
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    return str(value).strip() if column != "description" else str(value)


def _label_column(header: Sequence[str], label_column: str | None, path: str | Path) -> str:
    if label_column is not None:
        if label_column not in header:
            raise CorrectionsError(
                f"{path}: no label column {label_column!r}; its columns are: {', '.join(header)}"
            )
        return label_column
    found = next((c for c in LABEL_COLUMNS if c in header), None)
    if found is None:
        raise CorrectionsError(
            f"{path}: no role column ({' or '.join(LABEL_COLUMNS)}); its columns are: "
            f"{', '.join(header)}"
        )
    return found


def read_corrections(
    path: str | Path,
    text_column: str = "description",
    title_column: str | None = None,
    label_column: str | None = None,
    id_column: str = "id",
    delimiter: str | None = None,
) -> Corrections:
    """Read a corrections file (see the module's docstring).

    Args:
        title_column: the title column; None uses ``title`` where the file has one. A column
            named here must exist.
        label_column: the role column; None: the first of :data:`LABEL_COLUMNS` the file has.
        id_column: the id column (optional): rows sharing an id are one posting, the last wins.

    Raises:
        CorrectionsError: missing file or column, no rows, no answered row, a row without text.
    """
    header, rows = read_table(path, delimiter)
    if text_column not in header:
        raise CorrectionsError(
            f"{path}: no text column {text_column!r}; its columns are: {', '.join(header)}"
        )
    if title_column is not None and title_column not in header:
        raise CorrectionsError(
            f"{path}: no title column {title_column!r}; its columns are: {', '.join(header)}"
        )
    title_col = title_column or ("title" if "title" in header else None)
    label_col = _label_column(header, label_column, path)
    answers: dict[str, tuple[int, Posting, str]] = {}
    disagreeing: set[str] = set()
    out = Corrections([], [], [], str(path))
    for number, row in enumerate(rows, start=1):
        label = _cell(row, label_col)
        key = (_cell(row, id_column) if id_column in header else "") or f"row {number}"
        if not label:
            if answers.pop(key, None) is not None:  # the page's undo: the answer is withdrawn
                out.withdrawn += 1
            else:
                out.unanswered += 1
            continue
        posting = Posting(_cell(row, text_column), _cell(row, title_col) or None)
        if not posting.description.strip() and not posting.title:
            raise CorrectionsError(f"{path}: data row {number} has neither text nor title")
        if key in answers:
            out.replaced += 1
            if answers[key][2] != label:
                disagreeing.add(key)
        answers[key] = (number, posting, label)
    if not answers:
        raise CorrectionsError(
            f"{path}: no corrections (every {label_col!r} cell is empty; fill it with the right "
            "role)"
        )
    out.disagreeing = len(disagreeing)
    for key, (_number, posting, label) in sorted(answers.items(), key=lambda kv: kv[1][0]):
        out.postings.append(posting)
        out.labels.append(label)
        out.ids.append(key)
    return out


def corrections_path(labelled: str | Path) -> Path:
    """Where the page saves the answers for a labelled file: ``LABELLED.corrections.csv``."""
    path = Path(labelled)
    return path.with_name(path.name + ".corrections.csv")


def append_correction(path: str | Path, row: dict[str, Any]) -> None:
    """Append one answer (:data:`CORRECTION_COLUMNS`; ``corrected_at`` filled in) and flush it
    to disk, writing the header first when the file is new."""
    path = Path(path)
    new = not path.exists() or path.stat().st_size == 0
    cells = {**row, "corrected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CORRECTION_COLUMNS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow({k: "" if cells.get(k) is None else cells[k] for k in CORRECTION_COLUMNS})
        f.flush()
        os.fsync(f.fileno())
