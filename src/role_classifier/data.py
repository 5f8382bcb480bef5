"""Reading labelled files for ``train`` and ``evaluate``, through ``label-csv``'s readers.

The file is read exactly as ``label-csv`` reads it (:func:`.io.open_input`: CSV, TSV, JSON
lines, Parquet or Excel by suffix, ``.gz`` too, ``-`` for a CSV on standard input; CSV with
per-line UTF-8 and a noted Windows-1252 fallback, a sniffed or given delimiter; the same
filters). Cells that are not text (numbers, null) are read as CSV writes them. Labels are matched to the
taxonomy with :meth:`Taxonomy.normalize_label`; rows with an unknown label, an empty label or no
text are set aside and reported, never silently dropped. What to do with them is the caller's
choice: evaluation reports them, training refuses to start. Rows with more or fewer cells than
the header are skipped by both, and :meth:`LabelledRows.warnings` says how many and on which
lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import io as fileio
from .errors import UserError
from .taxonomy import Taxonomy, load_taxonomy
from .text import Posting, posting_text

__all__ = ["DataError", "LabelledRows", "csv_header", "parse_filters", "read_labelled_csv"]


class DataError(UserError):
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
        errors: ``[{"row", "line", "error"}]`` of other excluded rows (empty label or text).
        total: data rows in the file.
        filtered_out: rows dropped by the filters.
        header: the file's column names.
        cells: every cell of each kept row, in ``header`` order (reports keep the id columns).
        lines: the line each kept row starts on (the header is line 1).
        ragged: ``[{"row", "line", "error"}]`` of skipped rows with more or fewer cells than
            the header.
        encoding_notes: lines that were not valid UTF-8 and how they were read.
        delimiter: the delimiter read (given or sniffed).
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
    header: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    ragged: list[dict[str, Any]] = field(default_factory=list)
    encoding_notes: list[str] = field(default_factory=list)
    delimiter: str = ","
    name: str = ""
    filter_seen: str = ""

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
            "ragged": len(self.ragged),
            "evaluated": len(self),
        }

    def warnings(self) -> list[str]:
        """What the reader did that a user should know: skipped ragged rows (how many, which
        lines), lines that were not UTF-8, a delimiter other than a comma.

        Example:
            >>> LabelledRows(ragged=[{"row": 3, "line": 4, "error": "..."}]).warnings()
            ["skipped 1 row whose cell count differs from the header's (line 4)"]
        """
        out = []
        where = f"{self.name}: " if self.name else ""
        if self.ragged:
            n = len(self.ragged)
            out.append(
                f"{where}skipped {n} row{'s' if n > 1 else ''} whose cell count differs from "
                f"the header's ({_lines([r['line'] for r in self.ragged])})"
            )
        if self.encoding_notes:
            hows = Counter(note.split("(", 1)[-1].rstrip(")") for note in self.encoding_notes)
            lines = [int(note.split()[1]) for note in self.encoding_notes]
            n = len(lines)
            out.append(
                f"{where}{n} line{'s are' if n > 1 else ' is'} not valid UTF-8 ("
                + ", ".join(hows)
                + f"; {_lines(lines)})"
            )
        if self.delimiter != ",":
            out.append(f"{where}read as {fileio.delimiter_name(self.delimiter)}-separated")
        return out


def _lines(numbers: Sequence[int], limit: int = 20) -> str:
    """``line 4`` / ``lines 4, 9`` / ``lines 4, 9, ... and 12 more``."""
    shown = ", ".join(map(str, numbers[:limit]))
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def parse_filters(specs: Sequence[str] | None) -> dict[str, list[str]]:
    """Parse ``COL=VALUE`` strings; values of one column are alternatives (OR).

    Example:
        >>> parse_filters(["split=test", "split=val", "lang=en"])
        {'split': ['test', 'val'], 'lang': ['en']}
    """
    try:
        return fileio.parse_filters(specs)
    except fileio.CsvInputError as exc:
        raise DataError(str(exc)) from None


def csv_header(path: str | Path, *, delimiter: str | None = None) -> list[str]:
    """The column names of a labelled file, read as :func:`read_labelled_csv` reads it.

    Raises:
        DataError: the file is missing, unreadable or empty.

    Example:
        >>> csv_header("data/samples/postings.csv")[:3]  # doctest: +SKIP
        ['id', 'title', 'description']
    """
    try:
        with fileio.open_input(path, delimiter=fileio.parse_delimiter(delimiter)) as reader:
            return reader.header
    except fileio.CsvInputError as exc:
        raise DataError(_data_message(str(exc))) from None


def _data_message(message: str) -> str:
    """The reader's wording for a file without rows, in the words train and evaluate have used."""
    return message.replace(
        "is empty: expected a header row naming the columns",
        "is empty: expected a CSV with a header row",
    )


def read_labelled_csv(
    path: str | Path,
    label_column: str,
    text_column: str,
    title_column: str | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_column: str | None = None,
    delimiter: str | None = None,
) -> LabelledRows:
    """Read a labelled file (CSV, TSV, JSON lines, Parquet, Excel, ``.gz``; ``-`` for a CSV on
    standard input), keeping rows the taxonomy can score.

    Labels are matched to taxonomy names with :meth:`Taxonomy.normalize_label` ("ml engineer"
    is "ML Engineer"). Rows with an unknown label, an empty label or no text are excluded and
    reported in :attr:`LabelledRows.unknown_labels` and :attr:`LabelledRows.errors`.
    ``group_column`` (e.g. a source or company column) is kept per row in
    :attr:`LabelledRows.groups`. ``delimiter`` (one character, or ``tab``) is sniffed from the
    header when None. Rows with more or fewer cells than the header are skipped and listed in
    :attr:`LabelledRows.ragged`; :meth:`LabelledRows.warnings` words them for the user.

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
    try:
        with fileio.open_input(path, delimiter=fileio.parse_delimiter(delimiter)) as reader:
            rows = _read_rows(
                reader,
                name,
                label_column,
                text_column,
                title_column,
                taxonomy,
                filters,
                group_column,
            )
    except fileio.CsvInputError as exc:
        raise DataError(_data_message(str(exc))) from None
    if rows.total == 0:
        raise DataError(f"{name} has a header but no data rows")
    if rows.filtered_out == rows.total:
        raise DataError(f"no row of {name} matches the filters ({rows.filter_seen})")
    return rows


def _read_rows(
    reader: fileio.RecordReader,
    name: str,
    label_column: str,
    text_column: str,
    title_column: str | None,
    taxonomy: Taxonomy,
    filters: Mapping[str, Sequence[str]],
    group_column: str | None,
) -> LabelledRows:
    header = reader.header
    columns = _Columns.find(
        header, name, label_column, text_column, title_column, group_column, filters
    )
    rows = LabelledRows(
        titles=[] if title_column else None,
        groups=[] if group_column else None,
        header=list(header),
        delimiter=reader.delimiter or ",",
        name=name,
    )
    rows.encoding_notes += [n.removeprefix("header: ") for n in reader.header_notes]
    keep = fileio.RowFilter(header, filters)
    number = 0
    for record in reader:
        rows.encoding_notes += record.notes
        if record.blank:
            continue
        number += 1
        rows.total += 1
        if record.error is not None:
            rows.errors.append({"row": number, "line": record.line, "error": record.error})
        elif record.ragged:
            rows.ragged.append(
                {"row": number, "line": record.line, "error": record.ragged_message()}
            )
        elif not keep(record.cells):
            rows.filtered_out += 1
        else:
            cells = [fileio.cell_text(c) for c in record.cells]  # JSON lines, Parquet, Excel
            _add_row(rows, cells, number, record.line, columns, taxonomy)
    rows.filter_seen = keep.describe_seen()
    return rows


@dataclass(frozen=True)
class _Columns:
    """The columns :func:`_read_rows` reads, and where each sits in a row."""

    label: str
    text: str
    title: str | None
    group: str | None
    index: dict[str, int]

    @classmethod
    def find(
        cls,
        header: list[str],
        name: str,
        label: str,
        text: str,
        title: str | None,
        group: str | None,
        filters: Mapping[str, Sequence[str]],
    ) -> _Columns:
        """Check that ``header`` has every column needed, naming the first one missing."""
        wanted = {"label": label, "text": text}
        if title:
            wanted["title"] = title
        if group:
            wanted["group"] = group
        for col in filters:
            wanted[f"filter on '{col}'"] = col
        for what, col in wanted.items():
            if col not in header:
                role = f"{what} column" if not what.startswith("filter") else what
                raise DataError(
                    f"{name} has no column '{col}' ({role}); its columns are: " + ", ".join(header)
                )
        return cls(label, text, title, group, {col: header.index(col) for col in wanted.values()})


def _add_row(
    rows: LabelledRows,
    cells: list[str],
    number: int,
    line: int,
    columns: _Columns,
    taxonomy: Taxonomy,
) -> None:
    """Keep one row, or set it aside: an empty label or text is an error, a label outside the
    taxonomy is counted in ``unknown_labels``."""
    index = columns.index
    raw_label = cells[index[columns.label]].strip()
    description = cells[index[columns.text]]
    title = cells[index[columns.title]] if columns.title else None
    where = {"row": number, "line": line}
    if not raw_label:
        rows.errors.append({**where, "error": f"empty label ('{columns.label}')"})
        return
    label = taxonomy.normalize_label(raw_label)
    if label is None:
        rows.unknown_labels[raw_label] = rows.unknown_labels.get(raw_label, 0) + 1
        return
    if not posting_text(title, description):
        rows.errors.append({**where, "error": "empty text (nothing left after cleaning)"})
        return
    rows.descriptions.append(description)
    rows.labels.append(label)
    rows.row_numbers.append(number)
    rows.lines.append(line)
    rows.cells.append(cells)
    if rows.titles is not None:
        rows.titles.append(title)
    if rows.groups is not None:
        rows.groups.append(cells[index[columns.group]].strip())  # type: ignore[index]
