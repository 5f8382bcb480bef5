"""The one CSV reader and the one writer behind ``label-csv``, ``train`` and ``evaluate``, and
the checkpoints that make ``label-csv`` resumable.

Reading (:func:`open_csv`, :class:`CsvReader`), the same for every command (:mod:`.readers`
reads the other input formats into the same :class:`Record` objects, :class:`RecordReader`):

* **Encoding.** Each physical line is decoded on its own: UTF-8 (a leading BOM is dropped);
  a line that is not UTF-8 is read as Windows-1252 (Latin-1 for the five bytes it leaves
  undefined), or, when it is UTF-8 with a few broken bytes, with U+FFFD in their place. Either
  way the line gets a note (:attr:`Record.notes`), so a replacement is never silent. UTF-16 is
  refused.
* **Delimiter.** ``,``, ``;``, tab or ``|``: the one that occurs most often, outside quotes, in
  the header line (``,`` on a tie or when none does); ``delimiter=`` overrides.
* **Ragged rows.** A record whose cell count differs from the header's is :attr:`Record.ragged`;
  ``label-csv`` writes it as an error row, ``train`` and ``evaluate`` skip it and list its line.
* **Filters.** ``COL=VALUE`` specs (:func:`parse_filters`) matched by :class:`RowFilter`.

Writing (:class:`RowWriter`): CSV (optionally with a BOM), TSV, JSON lines (each optionally
gzipped, one gzip member per chunk), parquet or Excel, appended chunk by chunk to a binary stream; float columns stay floats in JSON lines, parquet and
Excel, and an empty value (None) is null there (an empty cell in CSV); input cells are written
back as they were read (:func:`cell_text` in CSV). :class:`ParquetParts` is parquet output that
can resume: one part file per chunk, joined into one file at the end.

Checkpoints: :func:`save_checkpoint` writes a JSON state atomically (temp file, fsync,
``os.replace``); :func:`load_checkpoint` reads it back.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import gzip
import io
import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import UserError

__all__ = [
    "DELIMITERS",
    "FORMATS",
    "CsvInputError",
    "CsvReader",
    "OutputPathError",
    "ParquetParts",
    "Record",
    "RecordReader",
    "RowFilter",
    "RowWriter",
    "arrow_schema",
    "cell_text",
    "check_output_path",
    "decode_line",
    "delimiter_name",
    "input_identity",
    "large_fields",
    "load_checkpoint",
    "open_csv",
    "output_format_for",
    "output_gzipped",
    "parse_delimiter",
    "parse_filters",
    "save_checkpoint",
]

FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
DELIMITERS = (",", ";", "\t", "|")
FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # a 1 MB cell is a record, not an error
_PARQUET_GROUP_ROWS = 4096
_PARQUET_GROUP_BYTES = 32 << 20


class CsvInputError(UserError):
    """An input file that cannot be read (a CSV without a header, a truncated gzip, a file that
    is not Parquet or Excel, ...); the message names the file and says why."""


class OutputPathError(UserError):
    """An output path that cannot be written as asked; the message says what to do."""


# -- options -----------------------------------------------------------------------------------
def parse_delimiter(value: str | None) -> str | None:
    """A ``--delimiter`` value as one character: ``,`` ``;`` ``|``, or ``tab`` / ``\\t`` for a tab.

    Example:
        >>> parse_delimiter("tab"), parse_delimiter(";"), parse_delimiter(None)
        ('\\t', ';', None)
    """
    if value is None:
        return None
    if value.lower() in ("tab", "\\t", "\t"):
        return "\t"
    if len(value) != 1 or value in '"\r\n':
        raise CsvInputError(
            f"bad delimiter {value!r}: give one character such as ',' ';' '|', or 'tab'"
        )
    return value


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is shown to users: ``tab`` for a tab, else the character quoted."""
    return "tab" if delimiter == "\t" else repr(delimiter)


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


# -- reading -----------------------------------------------------------------------------------
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def decode_line(raw: bytes) -> tuple[str, str | None]:
    """Decode one physical line; on bytes that are not UTF-8, say how it was read instead.

    Example:
        >>> decode_line("café".encode("cp1252"))
        ('café', 'read as Windows-1252')
    """
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", errors="replace")
    if any(ord(c) > 127 and c != "\ufffd" for c in text):  # UTF-8 with a few broken bytes
        return text, "invalid bytes replaced with U+FFFD"
    try:
        return raw.decode("cp1252"), "read as Windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "read as Latin-1"


class _LineDecoder:
    """Text lines of a binary stream, each decoded on its own, for :func:`csv.reader`.

    Lines keep their endings (like ``open(newline="")``); a UTF-8 BOM is dropped; a line that
    is not valid UTF-8 is decoded anyway and noted, so its record can be flagged.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._pending: list[str] = []
        self.line_no = 0
        self.notes: list[str] = []
        self.quotes = 0  # double quotes in the lines returned since take_quotes
        self.at_end = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._next()
        self.quotes += line.count('"')
        return line

    def _next(self) -> str:
        if self._pending:
            return self._pending.pop()
        raw = self._raw.readline()
        if not raw:
            self.at_end = True
            raise StopIteration
        self.line_no += 1
        if self.line_no == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvInputError("the input is UTF-16; convert it to UTF-8 first")
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        text, how = decode_line(raw)
        if how is not None:
            self.notes.append(f"line {self.line_no} is not valid UTF-8 ({how})")
        if "\r" in text[:-2]:  # old Mac line ends: split like open(newline="") would
            pieces = [p for p in _LONE_CR.split(text) if p]
            self._pending = pieces[:0:-1]
            return pieces[0]
        return text

    def peek(self) -> str | None:
        """The next line without consuming it (None at the end)."""
        try:
            line = self._next()
        except StopIteration:
            return None
        self._pending.append(line)
        return line

    def take_quotes(self) -> int:
        """Double quotes in the lines read since the last call."""
        quotes, self.quotes = self.quotes, 0
        return quotes

    def take_notes(self) -> list[str]:
        """Notes about the lines read since the last call."""
        notes, self.notes = self.notes, []
        return notes


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of :data:`DELIMITERS` outside quotes."""
    outside = "".join(line.split('"')[::2])
    counts = [(outside.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    n, _, best = max(counts)
    return best if n else ","


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


class CsvReader(RecordReader):
    """Records of a CSV, decoded, split and checked the same way for every command.

    The header is read when the reader is made; iterate for :class:`Record` objects.

    Attributes:
        name: the file name, or ``standard input``.
        header: the column names.
        delimiter: the delimiter used (given or sniffed).
        sniffed: True when the delimiter was sniffed rather than given.
        header_notes: decoding notes of the header line.
    """

    delimiter: str

    def __init__(self, raw: IO[bytes], name: str, delimiter: str | None = None) -> None:
        super().__init__(name)
        self._decoder = _LineDecoder(raw)
        first = self._decoder.peek()
        if first is None:
            raise CsvInputError(f"{name} is empty: expected a header row naming the columns")
        self.sniffed = delimiter is None
        self.delimiter = sniff_delimiter(first) if delimiter is None else delimiter
        self._reader = csv.reader(self._decoder, delimiter=self.delimiter)
        try:
            header = next(self._reader, None)
        except csv.Error as exc:
            raise CsvInputError(f"{name} is not a readable CSV: {exc}") from exc
        if not header:
            raise CsvInputError(
                f"the first line of {name} is blank: expected a header row naming the columns"
            )
        self.header = header
        self.header_notes = [f"header: {n}" for n in self._decoder.take_notes()]

    def __iter__(self) -> Iterator[Record]:
        n = len(self.header)
        line = self._reader.line_num
        self._decoder.take_quotes()
        while True:
            try:
                cells = next(self._reader, None)
            except csv.Error as exc:
                raise CsvInputError(
                    f"{self.name} is not a readable CSV near line {line + 1}: {exc}"
                ) from exc
            if cells is None:
                return
            self.records_read += 1
            record = Record(line + 1, cells, n, self._decoder.take_notes())
            if self._decoder.take_quotes() % 2 and self._decoder.at_end:
                record.error = self._cut_message(record.line)
            yield record
            line = self._reader.line_num

    def _cut_message(self, line: int) -> str:
        """Why a last record whose quoted field never closes is an error, not a posting."""
        return (
            f"the file looks cut: a quoted field opened in the record at line {line} is not "
            f"closed when {self.name} ends (copied while it was written?); this record is "
            "incomplete"
        )


@contextlib.contextmanager
def large_fields() -> Iterator[None]:
    """Let :mod:`csv` read cells of any size (a 1 MB cell is a record, not an error) while
    inside; the old limit is restored after."""
    old = csv.field_size_limit(FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


@contextlib.contextmanager
def open_csv(path: str | Path, *, delimiter: str | None = None) -> Iterator[CsvReader]:
    """Open a CSV file (``-`` for standard input) as a :class:`CsvReader`.

    Args:
        path: the file, or ``-``.
        delimiter: one character; None sniffs it from the header line.

    Raises:
        CsvInputError: missing, unreadable, empty, UTF-16, or a blank first line.

    Example:
        >>> with open_csv("jobs.csv") as reader:  # doctest: +SKIP
        ...     header = reader.header
        ...     rows = [r.cells for r in reader if not r.ragged]
    """
    with large_fields():
        if str(path) == "-":
            yield CsvReader(sys.stdin.buffer, "standard input", delimiter)
            return
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise CsvInputError(f"{path}: no such file") from None
        except OSError as exc:
            raise CsvInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with f:
            yield CsvReader(f, str(path), delimiter)


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


# -- output paths ------------------------------------------------------------------------------
def output_format_for(
    output: str | Path, output_format: str | None = None, *, folder_default: str | None = None
) -> str:
    """``csv``, ``tsv``, ``jsonl``, ``parquet`` or ``xlsx``: ``output_format`` if given, else from
    the extension (``-`` is CSV). The one output-format rule of every engine: with
    ``folder_default`` (the Ray engine's folder of part files), a name without a known
    extension is that format instead of an error. A ``.gz`` after the extension
    (``labelled.csv.gz``) is that format gzip-compressed (:func:`output_gzipped`).

    Raises:
        OutputPathError: an unknown format, an extension that names none (``.txt``, none
            at all) without ``output_format``, or ``.gz`` on parquet or Excel.

    Example:
        >>> output_format_for("labels.parquet"), output_format_for("-"), output_format_for("x.tsv")
        ('parquet', 'csv', 'tsv')
        >>> output_format_for("labels.jsonl.gz")
        'jsonl'
    """
    gzipped = output_gzipped(output)
    if output_format is not None:
        fmt = output_format.lower()
        if fmt not in FORMATS:
            raise OutputPathError(
                f"unknown output format {output_format!r}: use {', '.join(FORMATS)}"
            )
    elif str(output) == "-":
        return "csv"
    else:
        name = Path(str(output))
        suffix = (Path(name.stem) if gzipped else name).suffix.lower()
        if suffix in EXTENSIONS:
            fmt = EXTENSIONS[suffix]
        elif folder_default is not None:
            return folder_default
        else:
            known = ", ".join(EXTENSIONS)
            what = f"extension {suffix!r}" if suffix else "no extension"
            raise OutputPathError(
                f"OUTPUT {output} has {what}: name it with one of {known} (.csv.gz, .tsv.gz "
                f"or .jsonl.gz to compress), or pass --format ({', '.join(FORMATS)})"
            )
    if gzipped and fmt in ("parquet", "xlsx"):
        raise OutputPathError(
            f"OUTPUT {output}: {fmt} output is compressed inside already; drop the .gz"
        )
    return fmt


def output_gzipped(output: str | Path) -> bool:
    """Whether OUTPUT's name ends in ``.gz``: CSV, TSV or JSON lines written gzip-compressed.

    Example:
        >>> output_gzipped("labelled.csv.gz"), output_gzipped("labelled.csv"), output_gzipped("-")
        (True, False, False)
    """
    return str(output) != "-" and Path(str(output)).suffix.lower() == ".gz"


def check_output_path(output: str | Path) -> None:
    """Refuse an OUTPUT that is a directory or whose folder does not exist (``-`` is fine).

    Example:
        >>> check_output_path("/")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        OutputPathError: OUTPUT / is a directory: ...
    """
    if str(output) == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise OutputPathError(
            f"OUTPUT {path} is a directory: give a file name, e.g. {path / 'labelled.csv'}"
        )
    parent = path.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"the folder of OUTPUT, {parent}, does not exist: create it first "
            f"(mkdir -p {parent}) or write somewhere else"
        )


# -- writing -----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _json_value(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


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


def _json_cell(value: Any) -> Any:
    """An input cell in JSON lines: as it is, but NaN and infinities (not JSON) are null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique for JSON keys and parquet fields: a repeated ``x`` becomes
    ``x.1``, ``x.2``... (pandas' convention).

    Example:
        >>> unique_names(["id", "text", "id", "id"])
        ['id', 'text', 'id.1', 'id.2']
    """
    taken = set(names)
    used: set[str] = set()
    out = []
    for name in names:
        new, k = name, 0
        while new in used or (new != name and new in taken):
            k += 1
            new = f"{name}.{k}"
        used.add(new)
        out.append(new)
    return out


def arrow_schema(
    header: Sequence[str], types: Sequence[str], arrow_types: Sequence[Any] | None = None
) -> Any:
    """The parquet schema of an output: ``string``, ``float``, ``list`` (of strings) per
    column type; an input column (``value``) keeps its ``arrow_types`` entry, else is text."""
    import pyarrow as pa

    arrow = {
        "string": pa.string(),
        "float": pa.float64(),
        "list": pa.list_(pa.string()),
        "value": pa.string(),
    }
    given = list(arrow_types) if arrow_types is not None else [None] * len(header)
    fields = []
    for key, kind, exact in zip(unique_names(header), types, given, strict=True):
        fields.append((key, exact if exact is not None and kind == "value" else arrow[kind]))
    return pa.schema(fields)


class RowWriter:
    r"""Appends rows to a binary stream as CSV, TSV, JSON lines, parquet or Excel.

    Args:
        f: the stream.
        fmt: one of :data:`FORMATS`.
        header: the column names.
        types: per column ``"string"`` (default), ``"float"`` (4 decimals in CSV; a float in
            JSON lines, parquet and Excel), ``"list"`` (a list of strings: a JSON list in a CSV
            or Excel cell, a list in JSON lines and parquet) or ``"value"`` (an input cell,
            written back as it is: :func:`cell_text` in CSV, the value in JSON lines and
            Excel, its ``arrow_types`` entry in parquet, else text).
        arrow_types: per column, a pyarrow type for a ``value`` column in parquet, or None.
        bom: start CSV and TSV with a UTF-8 byte-order mark (``utf-8-sig``, for Excel).
        gzipped: CSV, TSV or JSON lines gzip-compressed, each :meth:`write_header` and
            :meth:`write` as its own gzip member (mtime 0): a multi-member file every gzip
            reader reads as one, which a resume can cut at the end of any chunk and append to.

    Excel output (the ``excel`` extra) is one sheet written by openpyxl's write-only mode
    and saved to ``f`` on :meth:`close`; Excel's own limits apply: :attr:`notes` counts the
    cells cut at 32,767 characters and the control characters removed.

    Example:
        >>> buf = io.BytesIO()
        >>> w = RowWriter(buf, "csv", ["id", "confidence"], ["value", "float"], bom=True)
        >>> w.write_header(); w.write([[7, 0.81234]]); w.close()
        >>> buf.getvalue()
        b'\xef\xbb\xbfid,confidence\n7,0.8123\n'
    """

    def __init__(
        self,
        f: IO[bytes],
        fmt: str,
        header: list[str],
        types: Sequence[str] | None = None,
        *,
        arrow_types: Sequence[Any] | None = None,
        bom: bool = False,
        gzipped: bool = False,
    ) -> None:
        if fmt not in FORMATS:
            raise OutputPathError(f"unknown output format {fmt!r}: use {', '.join(FORMATS)}")
        if gzipped and fmt in ("parquet", "xlsx"):
            raise OutputPathError(f"{fmt} output cannot be gzipped (it is compressed inside)")
        self.f, self.fmt, self.header, self.bom, self.gzipped = f, fmt, header, bom, gzipped
        self.types = list(types) if types is not None else ["string"] * len(header)
        self.arrow_types = arrow_types
        self.keys = unique_names(header)
        self._pq: Any = None
        self._xlsx: _ExcelSheet | None = None
        self._buffer: list[list[Any]] = []
        self._buffer_bytes = 0

    def write_header(self) -> None:
        """Start the output: the BOM and header row (CSV, TSV), the parquet schema, the sheet."""
        if self.fmt in ("csv", "tsv"):
            self._emit((codecs.BOM_UTF8 if self.bom else b"") + self._csv([self.header]))
        elif self.fmt == "parquet":
            import pyarrow.parquet as pq

            schema = arrow_schema(self.header, self.types, self.arrow_types)
            self._pq = pq.ParquetWriter(self.f, schema)
        elif self.fmt == "xlsx":
            self._xlsx = _ExcelSheet(self.header)

    def write(self, rows: list[list[Any]]) -> None:
        """Append rows (cells: str, float, list of str, None; input cells any value)."""
        if self.fmt in ("csv", "tsv"):
            texts = [cell_text if t == "value" else _text for t in self.types]
            self._emit(self._csv([[to(v) for to, v in zip(texts, row)] for row in rows]))
        elif self.fmt == "jsonl":
            values = [_json_cell if t == "value" else _json_value for t in self.types]
            lines = []
            for row in rows:
                obj = {k: to(v) for k, to, v in zip(self.keys, values, row, strict=True)}
                lines.append(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
            self._emit("".join(lines).encode("utf-8"))
        elif self.fmt == "xlsx":
            assert self._xlsx is not None, "write_header() first"
            self._xlsx.write(rows, self.types)
        else:
            self._buffer_parquet(rows)

    def _buffer_parquet(self, rows: list[list[Any]]) -> None:
        text = [
            t == "value" and (self.arrow_types is None or self.arrow_types[i] is None)
            for i, t in enumerate(self.types)
        ]
        for row in rows:  # like JSON lines: None is null
            cells = [
                (None if v is None else cell_text(v)) if as_text else _json_value(v)
                for as_text, v in zip(text, row)
            ]
            self._buffer.append(cells)
            self._buffer_bytes += sum(len(c) for c in cells if isinstance(c, str))
        if len(self._buffer) >= _PARQUET_GROUP_ROWS or self._buffer_bytes >= _PARQUET_GROUP_BYTES:
            self._flush_parquet()

    def _csv(self, rows: list[list[str]]) -> bytes:
        buf = io.StringIO()
        delimiter = "\t" if self.fmt == "tsv" else ","
        csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8")

    def _emit(self, data: bytes) -> None:
        """Write bytes to the stream (gzipped: as one gzip member, none for no bytes)."""
        if not self.gzipped:
            self.f.write(data)
        elif data:
            self.f.write(gzip.compress(data, compresslevel=6, mtime=0))

    def _flush_parquet(self) -> None:
        if self._buffer:
            import pyarrow as pa

            columns = [
                pa.array(list(col), type=self._pq.schema.field(i).type)
                for i, col in enumerate(zip(*self._buffer, strict=True))
            ]
            self._pq.write_table(pa.Table.from_arrays(columns, schema=self._pq.schema))
            self._buffer, self._buffer_bytes = [], 0

    @property
    def notes(self) -> list[str]:
        """What the format changed (Excel: cells cut to its limit, control characters)."""
        return self._xlsx.notes() if self._xlsx is not None else []

    def close(self) -> None:
        """Finish the output (parquet: the last row group and the footer; Excel: the file)."""
        if self._pq is not None:
            self._flush_parquet()
            self._pq.close()
        if self._xlsx is not None:
            self._xlsx.save(self.f)

    def abort(self) -> None:
        """Close a parquet writer or Excel sheet before the file is closed (the partial file
        is not used)."""
        if self._pq is not None:
            with contextlib.suppress(Exception):
                self._pq.close()
        if self._xlsx is not None:
            self._xlsx.abort()


EXCEL_CELL_CHARS = 32_767
EXCEL_ROWS = 1_048_576
_EXCEL_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")


class _ExcelSheet:
    """One write-only openpyxl sheet: rows go to openpyxl's temp file as they come."""

    def __init__(self, header: list[str]) -> None:
        from openpyxl import Workbook

        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("labelled")
        self.rows, self.cut, self.removed = 0, 0, 0
        self.sheet.append([self._cell(h) for h in header])

    def write(self, rows: list[list[Any]], types: Sequence[str]) -> None:
        if self.rows + len(rows) >= EXCEL_ROWS:
            raise OutputPathError(
                f"Excel holds at most {EXCEL_ROWS - 1:,} rows below its header: write .csv or "
                ".parquet for this input"
            )
        for row in rows:
            self.sheet.append([self._cell(self._value(v, t)) for v, t in zip(row, types)])
        self.rows += len(rows)

    @staticmethod
    def _value(value: Any, kind: str) -> Any:
        if kind == "float":
            return _json_value(value)
        if isinstance(value, (str, bool)) or value is None:
            return value
        if isinstance(value, int):  # Excel keeps 15 digits: a long id stays exact as text
            return value if abs(value) < 10**15 else str(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else repr(value)
        if getattr(value, "tzinfo", None) is not None:  # Excel has no time zones
            return value.isoformat()
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value
        return cell_text(value)

    def _cell(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if _EXCEL_ILLEGAL.search(value):
            value, n = _EXCEL_ILLEGAL.subn("", value)
            self.removed += n
        if len(value) > EXCEL_CELL_CHARS:
            value, self.cut = value[:EXCEL_CELL_CHARS], self.cut + 1
        if value.startswith("="):  # text, never a formula
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def notes(self) -> list[str]:
        out = []
        if self.cut:
            out.append(
                f"{self.cut:,} cells were longer than Excel's {EXCEL_CELL_CHARS:,} characters "
                "and were cut in the .xlsx output; write .csv or .parquet to keep them whole"
            )
        if self.removed:
            out.append(f"{self.removed:,} control characters that Excel cannot hold were removed")
        return out

    def save(self, f: IO[bytes]) -> None:
        self.book.save(f)

    def abort(self) -> None:
        """Close the sheet and remove openpyxl's temp file of its rows."""
        with contextlib.suppress(Exception):
            self.sheet.close()
            self.sheet._writer.cleanup()


_PART = re.compile(r"part-(\d{5,})\.parquet")


class ParquetParts:
    """Parquet output that can resume: a folder of numbered part files, one per
    :meth:`write`, joined into one file by :meth:`join`.

    A part is written to a temp name, fsynced and renamed, so it is whole or absent; a
    checkpoint records :attr:`parts`, and a resumed run keeps that many (:meth:`open`) and goes
    on. :meth:`join` streams the parts, in order, into one file with row groups of up to 4,096
    rows (or 32 MB), so an interrupted and resumed run ends byte-identical to an uninterrupted one.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()) / "out.parquet.partial"
        >>> parts = ParquetParts(folder, ["id", "confidence"], ["value", "float"])
        >>> parts.open(0); parts.write([["a", 0.5]]); parts.write([["b", 0.25]])
        >>> parts.join(folder.parent / "out.parquet")
        2
    """

    def __init__(
        self,
        folder: Path,
        header: list[str],
        types: Sequence[str],
        arrow_types: Sequence[Any] | None = None,
    ) -> None:
        self.folder, self.header, self.types = folder, header, list(types)
        self.arrow_types = arrow_types
        self.parts = 0

    def open(self, parts: int) -> None:
        """Start at ``parts`` parts done: later parts and temp files are removed.

        Raises:
            FileNotFoundError: one of the first ``parts`` parts is missing.
        """
        self.folder.mkdir(exist_ok=True)
        for path in self.folder.iterdir():
            match = _PART.fullmatch(path.name)
            if match is None or int(match.group(1)) >= parts:
                path.unlink()
        missing = [self._path(i).name for i in range(parts) if not self._path(i).exists()]
        if missing:
            raise FileNotFoundError(f"{self.folder} lacks {', '.join(missing[:3])}")
        self.parts = parts

    def _path(self, i: int) -> Path:
        return self.folder / f"part-{i:05d}.parquet"

    def write(self, rows: list[list[Any]]) -> None:
        """Write ``rows`` as the next part (nothing for no rows)."""
        if not rows:
            return
        path = self._path(self.parts)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            writer = RowWriter(f, "parquet", self.header, self.types, arrow_types=self.arrow_types)
            writer.write_header()
            writer.write(rows)
            writer.close()
            fsync(f)
        os.replace(tmp, path)
        self.parts += 1

    def join(self, dest: Path) -> int:
        """Write the parts, in order, as one parquet file at ``dest``; returns its rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = arrow_schema(self.header, self.types, self.arrow_types)
        rows = 0
        with open(dest, "wb") as f:
            with pq.ParquetWriter(f, schema) as out:
                pending: list[Any] = []
                for i in range(self.parts):
                    pending.append(pq.read_table(self._path(i), schema=schema))
                    size = sum(t.num_rows for t in pending)
                    if size >= _PARQUET_GROUP_ROWS or sum(t.nbytes for t in pending) >= (
                        _PARQUET_GROUP_BYTES
                    ):
                        table = pa.concat_tables(pending)
                        cut = min(size, _PARQUET_GROUP_ROWS)
                        out.write_table(table.slice(0, cut), row_group_size=cut)
                        rows += cut
                        pending = [table.slice(cut)] if cut < size else []
                if pending:
                    table = pa.concat_tables(pending)
                    out.write_table(table, row_group_size=max(table.num_rows, 1))
                    rows += table.num_rows
            fsync(f)
        return rows


def count_output_rows(path: Path, fmt: str) -> int:
    """Data rows in a finished output file, read back from disk (gzip decompressed)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        with open(path, "rb") as f:  # a file object: openpyxl refuses the name OUTPUT.partial
            book = load_workbook(f, read_only=True)
            try:
                return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
            finally:
                book.close()
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    with large_fields(), opener(path, "rt", encoding="utf-8", newline="") as f:
        if fmt == "jsonl":
            return sum(1 for _ in f)
        delimiter = "\t" if fmt == "tsv" else ","
        return sum(1 for _ in csv.reader(f, delimiter=delimiter)) - 1


# -- checkpoints -------------------------------------------------------------------------------
def input_identity(path: Path) -> dict[str, Any]:
    """What identifies an input file for a resume: its absolute path, size and mtime."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def fsync(f: IO[bytes]) -> None:
    """Flush a stream and make the OS write it to disk."""
    f.flush()
    os.fsync(f.fileno())


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically: a temp file, fsync, then ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
        fsync(f)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint; ``ValueError`` or ``OSError`` when it is unreadable."""
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    return state
