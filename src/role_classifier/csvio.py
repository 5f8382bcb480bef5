"""The one CSV reader and writer behind ``label-csv``, ``train`` and ``evaluate``, and the
checkpoints that make ``label-csv`` resumable.

Reading (:func:`open_csv`, :class:`CsvReader`), the same for every command:

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

Writing (:class:`RowWriter`): CSV, TSV, JSON lines or parquet, appended chunk by chunk to a binary
stream; float columns stay floats in JSON lines and parquet, and an empty value (None) is null
there (an empty cell in CSV).

Checkpoints: :func:`save_checkpoint` writes a JSON state atomically (temp file, fsync,
``os.replace``); :func:`load_checkpoint` reads it back.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
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
    "Record",
    "RowFilter",
    "RowWriter",
    "check_output_path",
    "delimiter_name",
    "input_identity",
    "load_checkpoint",
    "open_csv",
    "output_format_for",
    "parse_delimiter",
    "parse_filters",
    "save_checkpoint",
]

FORMATS = ("csv", "tsv", "jsonl", "parquet")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITERS = (",", ";", "\t", "|")
FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # a 1 MB cell is a record, not an error
_PARQUET_GROUP_ROWS = 4096
_PARQUET_GROUP_BYTES = 32 << 20


class CsvInputError(UserError):
    """An input that cannot be read as a CSV with a header; the message says why."""


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


def _decode_line(raw: bytes) -> tuple[str, str | None]:
    """Decode one physical line; on bytes that are not UTF-8, say how it was read instead."""
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

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._pending:
            return self._pending.pop()
        raw = self._raw.readline()
        if not raw:
            raise StopIteration
        self.line_no += 1
        if self.line_no == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvInputError("the input is UTF-16; convert it to UTF-8 first")
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        text, how = _decode_line(raw)
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
            line = next(self)
        except StopIteration:
            return None
        self._pending.append(line)
        return line

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
    """One data record of a CSV.

    Attributes:
        line: the physical line it starts on (the header is line 1).
        cells: its cells as read (not padded or cut).
        n_columns: the header's cell count.
        notes: decoding notes of its lines (``line 7 is not valid UTF-8 (...)``).
    """

    line: int
    cells: list[str]
    n_columns: int
    notes: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        """An empty line."""
        return not self.cells

    @property
    def ragged(self) -> bool:
        """Not blank, and more or fewer cells than the header."""
        return bool(self.cells) and len(self.cells) != self.n_columns

    def ragged_message(self) -> str:
        """Why a ragged record cannot be read: its cell count, and any extra cells."""
        n, k = len(self.cells), self.n_columns
        if n > k:
            extra = json.dumps(self.cells[k:], ensure_ascii=False)
            return f"row has {n} cells but the header has {k}; extra cells: {extra}"
        return f"row has {n} cells but the header has {k}"


class CsvReader:
    """Records of a CSV, decoded, split and checked the same way for every command.

    The header is read when the reader is made; iterate for :class:`Record` objects.

    Attributes:
        name: the file name, or ``standard input``.
        header: the column names.
        delimiter: the delimiter used (given or sniffed).
        sniffed: True when the delimiter was sniffed rather than given.
        header_notes: decoding notes of the header line.
    """

    def __init__(self, raw: IO[bytes], name: str, delimiter: str | None = None) -> None:
        self.name = name
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
        self.header: list[str] = header
        self.header_notes = [f"header: {n}" for n in self._decoder.take_notes()]
        self.records_read = 0

    def __iter__(self) -> Iterator[Record]:
        n = len(self.header)
        line = self._reader.line_num
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
            yield Record(line + 1, cells, n, self._decoder.take_notes())
            line = self._reader.line_num

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
    old = csv.field_size_limit(FIELD_LIMIT)
    try:
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
    finally:
        csv.field_size_limit(old)


class RowFilter:
    """Keeps records whose cell in each filtered column is one of its values (stripped).

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

    def __call__(self, cells: Sequence[str]) -> bool:
        keep = True
        for col, i in self._index.items():
            cell = cells[i].strip() if i < len(cells) else ""
            self.seen[col][cell] += 1
            keep = keep and cell in self.filters[col]
        return keep

    def describe_seen(self) -> str:
        """The most common values of each filtered column, for a "nothing matches" message."""
        return "; ".join(
            f"'{col}' has " + ", ".join(repr(v) for v, _ in self.seen[col].most_common(10))
            for col in self._index
        )


# -- output paths ------------------------------------------------------------------------------
def output_format_for(
    output: str | Path, output_format: str | None = None, *, folder_default: str | None = None
) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet``: ``output_format`` if given, else from the
    extension (``-`` is CSV). The one output-format rule of every engine: with
    ``folder_default`` (the Ray engine's folder of part files), a name without a known
    extension is that format instead of an error.

    Raises:
        OutputPathError: an unknown format, or an extension that names none (``.xlsx``,
            ``.txt``, none at all) without ``output_format``.

    Example:
        >>> output_format_for("labels.parquet"), output_format_for("-"), output_format_for("x.tsv")
        ('parquet', 'csv', 'tsv')
    """
    if output_format is not None:
        fmt = output_format.lower()
        if fmt not in FORMATS:
            raise OutputPathError(
                f"unknown output format {output_format!r}: use {', '.join(FORMATS)}"
            )
        return fmt
    if str(output) == "-":
        return "csv"
    suffix = Path(str(output)).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if folder_default is not None:
        return folder_default
    known = ", ".join(EXTENSIONS)
    what = f"extension {suffix!r}" if suffix else "no extension"
    raise OutputPathError(
        f"OUTPUT {output} has {what}: name it with one of {known}, or pass --format "
        f"({', '.join(FORMATS)})"
    )


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


class RowWriter:
    """Appends rows to a binary stream as CSV, TSV, JSON lines or parquet.

    Args:
        f: the stream.
        fmt: one of :data:`FORMATS`.
        header: the column names.
        types: per column ``"string"`` (default), ``"float"`` (4 decimals in CSV; a float in
            JSON lines and parquet) or ``"list"`` (a list of strings: a JSON
            list in a CSV cell, a list in JSON lines and parquet).
    """

    def __init__(
        self, f: IO[bytes], fmt: str, header: list[str], types: Sequence[str] | None = None
    ) -> None:
        if fmt not in FORMATS:
            raise OutputPathError(f"unknown output format {fmt!r}: use {', '.join(FORMATS)}")
        self.f, self.fmt, self.header = f, fmt, header
        self.types = list(types) if types is not None else ["string"] * len(header)
        self.keys = unique_names(header)
        self._pq: Any = None
        self._buffer: list[list[Any]] = []
        self._buffer_bytes = 0

    def write_header(self) -> None:
        """Start the output: the header row (CSV, TSV) or the parquet schema."""
        if self.fmt in ("csv", "tsv"):
            self._write_csv([self.header])
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrow = {"string": pa.string(), "float": pa.float64(), "list": pa.list_(pa.string())}
            schema = pa.schema([(k, arrow[t]) for k, t in zip(self.keys, self.types, strict=True)])
            self._pq = pq.ParquetWriter(self.f, schema)

    def write(self, rows: list[list[Any]]) -> None:
        """Append rows (cells: str, float, list of str or None)."""
        if self.fmt in ("csv", "tsv"):
            self._write_csv([[_text(v) for v in row] for row in rows])
        elif self.fmt == "jsonl":
            lines = []
            for row in rows:
                obj = {k: _json_value(v) for k, v in zip(self.keys, row, strict=True)}
                lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
            self.f.write("".join(lines).encode("utf-8"))
        else:
            for row in rows:
                cells = [_json_value(v) for v in row]  # like JSON lines: None is null
                self._buffer.append(cells)
                self._buffer_bytes += sum(len(c) for c in cells if isinstance(c, str))
            if (
                len(self._buffer) >= _PARQUET_GROUP_ROWS
                or self._buffer_bytes >= _PARQUET_GROUP_BYTES
            ):
                self._flush_parquet()

    def _write_csv(self, rows: list[list[str]]) -> None:
        buf = io.StringIO()
        delimiter = "\t" if self.fmt == "tsv" else ","
        csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
        self.f.write(buf.getvalue().encode("utf-8"))

    def _flush_parquet(self) -> None:
        if self._buffer:
            import pyarrow as pa

            columns = [
                pa.array(list(col), type=self._pq.schema.field(i).type)
                for i, col in enumerate(zip(*self._buffer, strict=True))
            ]
            self._pq.write_table(pa.Table.from_arrays(columns, schema=self._pq.schema))
            self._buffer, self._buffer_bytes = [], 0

    def close(self) -> None:
        """Finish the output (parquet: the last row group and the footer)."""
        if self._pq is not None:
            self._flush_parquet()
            self._pq.close()

    def abort(self) -> None:
        """Close a parquet writer before its file is closed (the partial file is not used)."""
        if self._pq is not None:
            with contextlib.suppress(Exception):
                self._pq.close()


def count_output_rows(path: Path, fmt: str) -> int:
    """Data rows in a finished output file, read back from disk."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    old = csv.field_size_limit(FIELD_LIMIT)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if fmt == "jsonl":
                return sum(1 for _ in f)
            delimiter = "\t" if fmt == "tsv" else ","
            return sum(1 for _ in csv.reader(f, delimiter=delimiter)) - 1
    finally:
        csv.field_size_limit(old)


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
