"""Reading labelled CSVs: the one reader behind ``train`` and ``evaluate``.

Labels are matched to the taxonomy with :meth:`Taxonomy.normalize_label`; rows with an unknown
label, an empty label or no text are set aside and reported, never silently dropped. What to do
with them is the caller's choice: evaluation reports them, training refuses to start.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .taxonomy import Taxonomy, load_taxonomy
from .text import Posting, posting_text

__all__ = ["DataError", "LabelledRows", "csv_header", "parse_filters", "read_labelled_csv"]


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and what to change."""


# -- data --------------------------------------------------------------------------------------
@dataclass
class LabelledRows:
    """Labelled rows read from a CSV, with what was excluded and why.

    Attributes:
        descriptions: the text column of each kept row.
        titles: the title column of each kept row (None without ``--title-column``).
        labels: taxonomy label of each kept row (normalised).
        row_numbers: 1-based data row (header not counted) of each kept row.
        groups: the group column of each kept row (None without ``group_column``).
        unknown_labels: ``{label: count}`` of rows whose label is not in the taxonomy.
        errors: ``[{"row", "error"}]`` of other excluded rows (empty label or text).
        total: data rows in the file.
        filtered_out: rows dropped by the filters.
    """

    descriptions: list[str] = field(default_factory=list)
    titles: list[str | None] | None = None
    labels: list[str] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    groups: list[str] | None = None
    unknown_labels: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    filtered_out: int = 0

    def __len__(self) -> int:
        return len(self.labels)

    def postings(self) -> list[Posting]:
        """The kept rows as :class:`Posting` objects (description and title)."""
        heads = self.titles if self.titles is not None else [None] * len(self)
        return [Posting(d, t or None) for d, t in zip(self.descriptions, heads, strict=True)]

    def texts(self) -> list[str]:
        """The text each model reads: ``posting_text(title, description)`` per row."""
        heads = self.titles if self.titles is not None else [None] * len(self)
        return [posting_text(t, d) for t, d in zip(heads, self.descriptions, strict=True)]

    def counts(self) -> dict[str, int]:
        """The ``rows`` block of the JSON schema."""
        return {
            "total": self.total,
            "filtered_out": self.filtered_out,
            "unknown_label": sum(self.unknown_labels.values()),
            "errors": len(self.errors),
            "evaluated": len(self),
        }


def parse_filters(specs: Sequence[str] | None) -> dict[str, list[str]]:
    """Parse ``COL=VALUE`` strings; values of one column are alternatives (OR).

    Example:
        >>> parse_filters(["split=test", "split=val", "lang=en"])
        {'split': ['test', 'val'], 'lang': ['en']}
    """
    out: dict[str, list[str]] = {}
    for spec in specs or []:
        col, sep, value = spec.partition("=")
        if not sep or not col.strip():
            raise DataError(f"bad filter '{spec}': write it as COLUMN=VALUE, e.g. split=test")
        out.setdefault(col.strip(), []).append(value.strip())
    return out


def csv_header(path: str | Path) -> list[str]:
    """The column names of a CSV file (first row), BOM stripped.

    Raises:
        DataError: the file is missing, unreadable or empty.

    Example:
        >>> csv_header("data/samples/postings.csv")[:3]  # doctest: +SKIP
        ['id', 'title', 'description']
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            header = next(csv.reader(f), None)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not header:
        raise DataError(f"{path} is empty: expected a CSV with a header row")
    return header


def read_labelled_csv(
    path: str | Path,
    label_column: str,
    text_column: str,
    title_column: str | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_column: str | None = None,
) -> LabelledRows:
    """Read a labelled CSV (``-`` for standard input), keeping rows the taxonomy can score.

    Labels are matched to taxonomy names with :meth:`Taxonomy.normalize_label` ("ml engineer"
    is "ML Engineer"). Rows with an unknown label, an empty label or no text are excluded and
    reported in :attr:`LabelledRows.unknown_labels` and :attr:`LabelledRows.errors`.
    ``group_column`` (e.g. a source or company column) is kept per row in
    :attr:`LabelledRows.groups`.

    Raises:
        DataError: unreadable or empty file, a missing column (the message lists the
            columns there are), or no rows left after filtering.

    Example:
        >>> rows = read_labelled_csv("test.csv", "label", "description")  # doctest: +SKIP
        >>> len(rows), rows.unknown_labels  # doctest: +SKIP
        (120, {'Data Scientist': 3})
    """
    taxonomy = taxonomy if taxonomy is not None else load_taxonomy()
    filters = dict(filters or {})
    name = "standard input" if str(path) == "-" else str(path)
    text = _read_text(path, name)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = [c for c in (reader.fieldnames or []) if c is not None]
        if not columns:
            raise DataError(f"{name} is empty: expected a CSV with a header row")
        wanted = {"label": label_column, "text": text_column}
        if title_column:
            wanted["title"] = title_column
        if group_column:
            wanted["group"] = group_column
        for col in filters:
            wanted[f"filter on '{col}'"] = col
        for what, col in wanted.items():
            if col not in columns:
                role = f"{what} column" if not what.startswith("filter") else what
                raise DataError(
                    f"{name} has no column '{col}' ({role}); its columns are: " + ", ".join(columns)
                )
        rows = LabelledRows(
            titles=[] if title_column else None, groups=[] if group_column else None
        )
        seen_values: dict[str, Counter[str]] = {col: Counter() for col in filters}
        for number, record in enumerate(reader, start=1):
            rows.total += 1
            keep = True
            for col, values in filters.items():
                cell = (record.get(col) or "").strip()
                seen_values[col][cell] += 1
                if cell not in values:
                    keep = False
            if not keep:
                rows.filtered_out += 1
                continue
            raw_label = (record.get(label_column) or "").strip()
            description = record.get(text_column) or ""
            title = (record.get(title_column) or "") if title_column else None
            if not raw_label:
                rows.errors.append({"row": number, "error": f"empty label ('{label_column}')"})
                continue
            label = taxonomy.normalize_label(raw_label)
            if label is None:
                rows.unknown_labels[raw_label] = rows.unknown_labels.get(raw_label, 0) + 1
                continue
            if not posting_text(title, description):
                rows.errors.append(
                    {"row": number, "error": "empty text (nothing left after cleaning)"}
                )
                continue
            rows.descriptions.append(description)
            rows.labels.append(label)
            rows.row_numbers.append(number)
            if rows.titles is not None:
                rows.titles.append(title)
            if rows.groups is not None:
                rows.groups.append((record.get(group_column) or "").strip())
    except csv.Error as exc:
        raise DataError(f"{name} is not a readable CSV: {exc}") from exc
    if rows.total == 0:
        raise DataError(f"{name} has a header but no data rows")
    if rows.filtered_out == rows.total:
        shown = "; ".join(
            f"'{col}' has " + ", ".join(repr(v) for v, _ in seen_values[col].most_common(10))
            for col in filters
        )
        raise DataError(f"no row of {name} matches the filters ({shown})")
    return rows


def _read_text(path: str | Path, name: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DataError(f"{name} is empty: expected a CSV with a header row")
    return raw.decode("utf-8-sig", errors="replace")
