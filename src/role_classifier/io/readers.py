"""Every input format of ``label-csv``, chosen by the file's suffix, read into the same records.

:func:`open_input` is the one entry point; each reader gives a header and then
:class:`.records.Record` objects in file order (a :class:`.records.RecordReader`), so the rows,
error and resume rules downstream are the same for every format:

* **CSV and TSV** (``.csv``, ``.tsv``, any other name, standard input): :class:`.csv_reader.CsvReader`.
  A file whose first bytes say it is gzip, zip (Excel), Parquet or an old ``.xls`` is refused
  with the name it should have, instead of being read as a garbled header.
* **gzip** (``.csv.gz``, ``.tsv.gz``, ``.jsonl.gz``, ``.ndjson.gz``): the same readers over a
  stream decompressed as it is read; a truncated or corrupt file is a :class:`CsvInputError`
  naming it.
* **JSON lines** (``.jsonl``, ``.ndjson``, ``.json``): one object per line. The header is every
  key in the file, in order of first appearance (one pass over the file before the first
  record); a key a line lacks is null; a line that is not JSON, or not an object, is a record
  with an :attr:`~.records.Record.error` (its text in the message), never a crash.
* **Parquet** (``.parquet``, ``.pq``): read in batches row group by row group
  (:meth:`pyarrow.parquet.ParquetFile.iter_batches`), never the whole file; the column types
  are kept for Parquet output (:attr:`~.records.RecordReader.arrow_types`).
* **Excel** (``.xlsx``, ``.xlsm``; the ``excel`` extra): the first sheet, streamed by openpyxl's
  read-only mode, cached values rather than formulas; the first row is the header; empty
  rows at the end of the sheet are dropped, empty rows between rows are blank records.

Cells are what the format holds: text in CSV; in the others also numbers, booleans, None,
lists, objects and dates, which the writers give back as they are (:func:`.records.cell_text`
in CSV).

Example:
    >>> with open_input("jobs.jsonl.gz") as reader:  # doctest: +SKIP
    ...     header = reader.header
    ...     cells = [record.cells for record in reader]
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .._extras import require_extra
from .csv_reader import CsvReader, decode_line, large_fields, open_csv, read_csv_header
from .formats import _MAGIC, CsvInputError, input_format
from .records import Record, RecordReader, cell_text

__all__ = [
    "ExcelReader",
    "JsonLinesReader",
    "ParquetReader",
    "count_lines",
    "count_rows",
    "first_json_keys",
    "open_input",
    "read_header",
]

_PARQUET_BATCH_ROWS = 1024


@contextlib.contextmanager
def open_input(path: str | Path, *, delimiter: str | None = None) -> Iterator[RecordReader]:
    """Open an input file (``-``: CSV on standard input) with the reader its suffix names.

    Args:
        path: the file, or ``-``.
        delimiter: CSV's delimiter (one character); None sniffs it. Other formats ignore it.

    Raises:
        CsvInputError: missing, unreadable, empty, truncated or corrupt, naming the file.
        MissingExtraError: an Excel file without openpyxl (``pip install
            'role-classifier[excel]'``).

    Example:
        >>> with open_input("jobs.parquet") as reader:  # doctest: +SKIP
        ...     print(reader.header, reader.total)
        ['id', 'description'] 120000
    """
    if str(path) == "-":
        with open_csv("-", delimiter=delimiter) as reader:
            yield reader
        return
    fmt, gzipped = input_format(path)
    name = str(path)
    if fmt == "xlsx":
        with _excel(Path(path)) as reader:
            yield reader
        return
    if fmt == "parquet":
        reader = ParquetReader(Path(path), name)
        try:
            yield reader
        finally:
            reader.close()
        return
    with _open(path) as f, large_fields():
        if fmt == "jsonl":

            def reopen() -> IO[bytes]:
                f.seek(0)
                return _Gunzip(f, name) if gzipped else f  # type: ignore[return-value]

            yield JsonLinesReader(reopen, name)
        elif gzipped:
            yield CsvReader(_Gunzip(f, name), name, delimiter)  # type: ignore[arg-type]
        else:
            _refuse_binary(f, name)
            yield CsvReader(f, name, delimiter)


def _open(path: str | Path) -> IO[bytes]:
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise CsvInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise CsvInputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _refuse_binary(f: IO[bytes], name: str) -> None:
    """A "CSV" whose first bytes say it is gzip, zip, Parquet or .xls: say what to name it."""
    head = f.peek(8)[:8] if hasattr(f, "peek") else b""
    for magic, (what, suffix) in _MAGIC.items():
        if head.startswith(magic):
            how = (
                f"name it with {suffix} (e.g. {Path(name).name}{suffix})"
                if suffix == ".gz"
                else f"name it {Path(name).stem}{suffix} if it is one"
                if suffix
                else "save it as .xlsx or CSV"
            )
            raise CsvInputError(f"{name} is {what}, not a CSV: {how}")


class _Gunzip:
    """A gzip stream decompressed as it is read; a truncated or corrupt file is a
    :class:`CsvInputError` naming it (at the point it is found)."""

    def __init__(self, f: IO[bytes], name: str) -> None:
        self._gz = gzip.GzipFile(fileobj=f, mode="rb")
        self.name = name

    def read(self, n: int = -1) -> bytes:
        return self._guard(self._gz.read, n)

    def readline(self) -> bytes:
        return self._guard(self._gz.readline)

    def _guard(self, read: Callable[..., bytes], *args: Any) -> bytes:
        try:
            return read(*args)
        except EOFError as exc:
            raise CsvInputError(
                f"{self.name} is truncated ({exc}): the rows before the cut were read; "
                "copy or download the file again"
            ) from None
        except gzip.BadGzipFile as exc:
            raise CsvInputError(
                f"{self.name} is not gzip-compressed ({exc}): rename it without .gz"
            ) from None
        except (zlib.error, OSError) as exc:
            raise CsvInputError(f"{self.name} is a corrupt gzip file ({exc})") from None


# -- JSON lines --------------------------------------------------------------------------------
def _lines(raw: IO[bytes], name: str) -> Iterator[tuple[int, str, str | None]]:
    """``(line number, text, decoding note)`` of each line; a leading BOM is dropped."""
    number = 0
    while line := raw.readline():
        number += 1
        if number == 1:
            if line.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvInputError(f"{name} is UTF-16; convert it to UTF-8 first")
            line = line.removeprefix(b"\xef\xbb\xbf")
        text, how = decode_line(line)
        yield number, text.rstrip("\r\n"), how


_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _parse(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A line's object, or why it is not one."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return None, f"is not valid JSON ({reason}): {text.strip()}"
    if isinstance(value, dict):
        return value, None
    kind = _JSON_KINDS.get(type(value), "a number")
    return None, f"is {kind}, not a JSON object: {text.strip()}"


class JsonLinesReader(RecordReader):
    """Records of a JSON lines file: one object per line, its keys the columns.

    Made from a function that opens the file at its start (called twice: the header is every
    key of the file, found by a first pass; the records come from a second).
    """

    def __init__(self, reopen: Callable[[], IO[bytes]], name: str) -> None:
        super().__init__(name)
        self._reopen = reopen
        keys: dict[str, None] = {}
        lines = 0
        for number, text, _ in _lines(reopen(), name):
            lines += 1
            obj, _why = _parse(text) if text.strip() else (None, None)
            if obj is not None:
                keys.update(dict.fromkeys(obj))
            elif not keys and text.lstrip().startswith("["):
                _refuse_array(name, text)
            elif number == 1 and text.strip() == "{":
                break  # pretty-printed JSON: no key will be found
        if not lines:
            raise CsvInputError(f"{name} is empty: expected one JSON object per line")
        if not keys:
            raise CsvInputError(
                f"{name} has no line that is a JSON object: JSON lines need one object per line "
                '({"id": 1, "description": "..."}), not pretty-printed JSON'
            )
        self.header = list(keys)
        self.total = lines
        self._records_left: Iterator[tuple[int, str, str | None]] | None = None

    def __iter__(self) -> Iterator[Record]:
        if self._records_left is None:
            self._records_left = _lines(self._reopen(), self.name)
        n = len(self.header)
        for number, text, how in self._records_left:
            self.records_read += 1
            notes = [f"line {number} is not valid UTF-8 ({how})"] if how else []
            if not text.strip():
                yield Record(number, [], n, notes)
                continue
            obj, why = _parse(text)
            if obj is None:
                yield Record(number, [None] * n, n, notes, error=f"line {number} {why}")
            else:
                yield Record(number, [obj.get(key) for key in self.header], n, notes)


def _refuse_array(name: str, text: str) -> None:
    """A JSON array (one document, not JSON lines): say how to convert it."""
    obj, _ = None, None
    try:
        obj = json.loads(text)
    except ValueError:
        pass
    if obj is None or (isinstance(obj, list) and all(isinstance(o, dict) for o in obj)):
        stem = Path(name).name.split(".")[0]
        raise CsvInputError(
            f"{name} is one JSON array, not JSON lines (one object per line): convert it, e.g. "
            f"jq -c '.[]' {name} > {stem}.jsonl"
        )


# -- Parquet -----------------------------------------------------------------------------------
class ParquetReader(RecordReader):
    """Records of a Parquet file, read in batches row group by row group (never the whole file);
    :meth:`skip` skips whole row groups without reading them."""

    def __init__(self, path: Path, name: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(name)
        self._errors = (pa.ArrowException, OSError)
        try:
            self._file = pq.ParquetFile(path)
        except FileNotFoundError:
            raise CsvInputError(f"{name}: no such file") from None
        except self._errors as exc:
            raise CsvInputError(f"{name} is not a readable Parquet file ({_reason(exc)})") from None
        schema = self._file.schema_arrow
        if not schema.names:
            raise CsvInputError(f"{name} has no columns")
        self.header = list(schema.names)
        self.arrow_types = [f.type for f in schema]
        self.total = int(self._file.metadata.num_rows)
        self._next = 0  # the next record to give, 0-based

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def skip(self, n: int) -> int:
        done = max(min(n, self.total - self._next), 0)  # type: ignore[operator]
        self._next += done
        return done

    def __iter__(self) -> Iterator[Record]:
        meta, n = self._file.metadata, len(self.header)
        groups, start, drop = [], 0, 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            if start + rows > self._next:
                if not groups:
                    drop = self._next - start
                groups.append(g)
            start += rows
        if not groups:
            return
        try:
            batches = self._file.iter_batches(batch_size=_PARQUET_BATCH_ROWS, row_groups=groups)
            for batch in batches:
                columns = [column.to_pylist() for column in batch.columns]
                for cells in zip(*columns):
                    if drop:
                        drop -= 1
                        continue
                    self._next += 1
                    self.records_read += 1
                    yield Record(self._next, list(cells), n)
        except self._errors as exc:
            raise CsvInputError(
                f"{self.name} is corrupt near row {self._next + 1} ({_reason(exc)})"
            ) from None


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- Excel -------------------------------------------------------------------------------------
_EXCEL_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError, EOFError)


@contextlib.contextmanager
def _excel(path: Path) -> Iterator[ExcelReader]:
    require_extra("openpyxl", "reading an .xlsx file")
    from openpyxl import load_workbook

    if not path.is_file():
        raise CsvInputError(f"{path}: no such file")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except _EXCEL_ERRORS as exc:
        raise CsvInputError(
            f"{path} is not a readable .xlsx workbook ({type(exc).__name__}: {_reason(exc)})"
        ) from None
    try:
        yield ExcelReader(book, str(path))
    finally:
        book.close()


class ExcelReader(RecordReader):
    """Records of the first sheet of an Excel workbook opened read-only (rows stream from the
    file); cached values, not formulas; trailing empty cells and rows dropped."""

    def __init__(self, book: Any, name: str) -> None:
        super().__init__(name)
        sheet = book.worksheets[0]
        self._line = 0
        self._rows = self._guarded(sheet.iter_rows(values_only=True))
        first = next(self._rows, None)
        header = list(first or ())
        while header and header[-1] in (None, ""):
            header.pop()
        if not header:
            raise CsvInputError(
                f"the first row of {name} (sheet {sheet.title!r}) is empty: expected a header "
                "row naming the columns"
            )
        self.header = [cell_text(h) for h in header]
        if len(book.worksheets) > 1:
            self.header_notes = [
                f"read the first sheet, {sheet.title!r}, of {len(book.worksheets)}"
            ]
        with contextlib.suppress(TypeError, ValueError):
            self.total = max(int(sheet.max_row) - 1, 0)
        self._line = 1
        self._pending: collections.deque[Record] = collections.deque()
        self._blanks: list[Record] = []

    def _guarded(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        try:
            yield from rows
        except _EXCEL_ERRORS as exc:
            raise CsvInputError(
                f"{self.name} is corrupt near row {self._line + 1} ({_reason(exc)})"
            ) from None

    def __iter__(self) -> Iterator[Record]:
        n = len(self.header)
        while True:
            if self._pending:
                self.records_read += 1
                yield self._pending.popleft()
                continue
            values = next(self._rows, None)
            if values is None:
                return  # empty rows at the end of a sheet are formatting, not records
            self._line += 1
            cells = list(values)
            while len(cells) > n and cells[-1] is None:
                cells.pop()
            if all(v is None for v in cells):
                self._blanks.append(Record(self._line, [], n))
                continue
            cells += [None] * (n - len(cells))
            self._pending.extend(self._blanks)
            self._blanks.clear()
            self._pending.append(Record(self._line, cells, n))


# -- counting ----------------------------------------------------------------------------------
def count_rows(path: str | Path) -> int | None:
    """Data records in an input file, header excluded, for a progress bar's total: from the
    metadata (Parquet, Excel), else by counting lines (CSV: newlines outside double quotes;
    a quote inside an unquoted field can throw it off). None when it cannot be told.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = p.write_bytes(b'id,text\\n1,"two\\nlines"\\n2,x')
        >>> count_rows(p)
        2
    """
    fmt, gzipped = input_format(path)
    if fmt in ("parquet", "xlsx"):
        with contextlib.suppress(CsvInputError), open_input(path) as reader:
            return reader.total
        return None
    with _open(path) as f:
        raw: Any = _Gunzip(f, str(path)) if gzipped else f
        lines = count_lines(raw, quoted=fmt == "csv")
    return max(lines - 1, 0) if fmt == "csv" else lines


def count_lines(raw: IO[bytes], *, quoted: bool = True) -> int:
    """Lines of a binary stream (a last line without a newline counts); with ``quoted``,
    newlines inside double quotes do not end a line."""
    n, in_quotes, last = 0, False, b"\n"
    while block := raw.read(1 << 22):
        if not quoted:
            n += block.count(b"\n")
        else:
            parts = block.split(b'"')
            for i, part in enumerate(parts):
                if not in_quotes:
                    n += part.count(b"\n")
                if i < len(parts) - 1:
                    in_quotes = not in_quotes
        last = block[-1:]
    return n + (last != b"\n")


def read_header(
    stream: Any, fmt: str, name: str, delimiter: str | None = None
) -> tuple[list[str], str | None]:
    """The column names (and CSV's delimiter, given or sniffed) of an input that is not a
    local file, from a binary stream with ``read(n)`` (a pyarrow filesystem's, the Ray
    engine's): CSV as :class:`.csv_reader.CsvReader` reads its header, JSON lines from the keys
    of the first line. Reads only as far as the first record ends.

    Raises:
        CsvInputError: UTF-16, a blank first line, or a first line that is not a JSON object.

    Example:
        >>> import io
        >>> read_header(io.BytesIO(b'id;"a\\nb"\\n1;2'), "csv", "x.csv")
        (['id', 'a\\nb'], ';')
    """
    raw = stream.read(1 << 16)
    while _first_record_end(raw, fmt) is None:  # a long header, or a quoted newline
        more = stream.read(1 << 20)
        if not more:
            break
        raw += more
    end = _first_record_end(raw, fmt)
    first = raw if end is None else raw[: end + 1]
    if fmt == "jsonl":
        return first_json_keys(first, name), None
    return read_csv_header(first, name, delimiter)


def _first_record_end(raw: bytes, fmt: str) -> int | None:
    """Where the first record ends (CSV: newlines inside double quotes skipped), else None."""
    if fmt != "csv":
        end = raw.find(b"\n")
        return None if end < 0 else end
    in_quotes = False
    for i, byte in enumerate(raw):
        if byte == 0x22:
            in_quotes = not in_quotes
        elif byte == 0x0A and not in_quotes:
            return i
    return None


def first_json_keys(raw: bytes, name: str) -> list[str]:
    """The keys of the first JSON line of ``raw`` (a JSON lines file's first bytes).

    Raises:
        CsvInputError: the first line is not a JSON object.
    """
    first = raw.split(b"\n", 1)[0]
    try:
        obj = json.loads(first)
    except ValueError as exc:
        raise CsvInputError(
            f"{name}: the first line is not a JSON object ({exc}); expected JSON lines"
        ) from exc
    if not isinstance(obj, dict):
        raise CsvInputError(f"{name}: the first line is not a JSON object")
    return list(obj)
