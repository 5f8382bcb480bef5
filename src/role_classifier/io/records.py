"""The record and reader shape every input format gives, the filters, and a cell as text.

A reader (:class:`RecordReader`) gives a header and then :class:`Record` objects in file order,
whatever the format, so every rule downstream (error rows, filters, resume) is written once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .formats import CsvInputError

__all__ = ["Record", "RecordReader", "RowFilter", "cell_text", "parse_filters"]


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
            raise CsvInputError(f"bad filter '{spec}': write it as COLUMN=VALUE, e.g. split=test")
        out.setdefault(col.strip(), []).append(value.strip())
    return out


@dataclass
class Record:
    """One data record of an input file.

    Attributes:
        line: where it starts: the physical line in CSV (the header is line 1) and JSON lines,
            the row in Excel (the header is row 1), the row number in Parquet.
        cells: its cells as read (not padded or cut): text in CSV; in JSON lines, Parquet and
            Excel also numbers, booleans, None, lists, objects and dates.
        n_columns: the header's cell count.
        notes: decoding notes of its lines (``line 7 is not valid UTF-8 (...)``).
        error: why a record could not be read at all (a JSON line that is not an object);
            its cells are then None.
    """

    line: int
    cells: list[Any]
    n_columns: int
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def blank(self) -> bool:
        """An empty line."""
        return not self.cells and self.error is None

    @property
    def ragged(self) -> bool:
        """Not blank, and more or fewer cells than the header."""
        return bool(self.cells) and len(self.cells) != self.n_columns

    def ragged_message(self) -> str:
        """Why a ragged record cannot be read: its cell count, and any extra cells."""
        n, k = len(self.cells), self.n_columns
        if n > k:
            extra = json.dumps(self.cells[k:], ensure_ascii=False, default=_json_default)
            return f"row has {n} cells but the header has {k}; extra cells: {extra}"
        return f"row has {n} cells but the header has {k}"


class RecordReader:
    """The header and the records of one input, in order: what every reader gives.

    :class:`CsvReader` reads CSV; :mod:`.readers` reads JSON lines, Parquet and Excel (and
    gzip-compressed CSV and JSON lines) into the same records. Iterate for :class:`Record`
    objects; iteration goes on where :meth:`skip` or an earlier loop stopped.

    Attributes:
        name: the file name, or ``standard input``.
        header: the column names.
        delimiter: CSV's delimiter (None for the other formats).
        sniffed: True when the delimiter was sniffed rather than given.
        header_notes: decoding notes of the header line (or which Excel sheet was read).
        total: the records in the input when known without reading them (Parquet, JSON
            lines, Excel), else None.
        arrow_types: per column, the pyarrow type to keep in Parquet output (Parquet input),
            else None (written as text).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.header: list[str] = []
        self.delimiter: str | None = None
        self.sniffed = False
        self.header_notes: list[str] = []
        self.records_read = 0
        self.total: int | None = None
        self.arrow_types: list[Any] | None = None

    def __iter__(self) -> Iterator[Record]:
        raise NotImplementedError

    def skip(self, n: int) -> int:
        """Skip ``n`` records (a resumed run); returns how many there were."""
        done = 0
        for _ in self._records(n):
            done += 1
        return done

    def _records(self, n: int) -> Iterator[Record]:
        if n <= 0:
            return
        for k, record in enumerate(self, start=1):
            yield record
            if k == n:
                return

    def column_index(self, name: str) -> int | None:
        """The position of a column (the first, if it appears twice), or None."""
        return self.header.index(name) if name in self.header else None


class RowFilter:
    """Keeps records whose cell in each filtered column is one of its values (stripped; a cell
    that is not text is matched as :func:`cell_text` writes it: ``year=2024`` matches 2024).

    Example:
        >>> keep = RowFilter(["id", "split"], {"split": ["test"]})
        >>> keep(["1", "test"]), keep(["2", " train "])
        (True, False)
    """

    def __init__(self, header: Sequence[str], filters: Mapping[str, Sequence[str]] | None) -> None:
        self.filters = {col: {v.strip() for v in vals} for col, vals in (filters or {}).items()}
        self.missing = [col for col in self.filters if col not in header]
        self._index = {col: list(header).index(col) for col in self.filters if col in header}
        self.seen: dict[str, Counter[str]] = {col: Counter() for col in self.filters}
        self.matched = 0

    def __call__(self, cells: Sequence[str]) -> bool:
        keep = True
        for col, i in self._index.items():
            cell = cell_text(cells[i]).strip() if i < len(cells) else ""
            self.seen[col][cell] += 1
            keep = keep and cell in self.filters[col]
        self.matched += keep
        return keep

    def describe(self) -> str:
        """The filters as they were given: ``month=2024-3``, ``split=test|val``."""
        return ", ".join(f"{col}={'|'.join(sorted(vals))}" for col, vals in self.filters.items())

    def describe_seen(self) -> str:
        """The most common values of each filtered column, for a "nothing matches" message."""
        parts = []
        for col in self._index:
            values = [repr(v) for v, _ in self.seen[col].most_common(6)]
            more = ", ..." if len(self.seen[col]) > 6 else ""
            parts.append(f"'{col}' has " + ", ".join(values) + more)
        return "; ".join(parts)


def _json_default(value: Any) -> Any:
    """JSON for what :mod:`json` cannot write: dates in ISO 8601, bytes as UTF-8, else text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def cell_text(value: Any) -> str:
    """An input cell as CSV writes it: text as it is, None empty, booleans ``true``/``false``,
    numbers, lists and objects as JSON writes them, dates in ISO 8601.

    Example:
        >>> [cell_text(v) for v in ("007", None, 3, 2.5, True, {"k": [1]})]
        ['007', '', '3', '2.5', 'true', '{"k": [1]}']
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(_json_default(value))
