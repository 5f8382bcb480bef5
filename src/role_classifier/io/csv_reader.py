"""The one CSV reader: per-line decoding, the delimiter, ragged rows and a file cut in a quote.

* **Encoding.** Each physical line is decoded on its own: UTF-8 (a leading BOM is dropped);
  a line that is not UTF-8 is read as Windows-1252 (Latin-1 for the five bytes it leaves
  undefined), or, when it is UTF-8 with a few broken bytes, with U+FFFD in their place. Either
  way the line gets a note (:attr:`Record.notes`), so a replacement is never silent. UTF-16 is
  refused.
* **Delimiter.** ``,``, ``;``, tab or ``|``: the one that occurs most often, outside quotes, in
  the header line (``,`` on a tie or when none does); ``delimiter=`` overrides.
* **Ragged rows.** A record whose cell count differs from the header's is :attr:`Record.ragged`;
  ``label-csv`` writes it as an error row, ``train`` and ``evaluate`` skip it and list its line.
* **A cut file.** A last record whose quoted field never closes (a file copied while it was
  written) gets an :attr:`Record.error` saying the file looks cut.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .formats import CsvInputError, sniff_delimiter
from .records import Record, RecordReader

__all__ = ["CsvReader", "decode_line", "large_fields", "open_csv", "read_csv_header"]

FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # a 1 MB cell is a record, not an error
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


def read_csv_header(raw: bytes, name: str, delimiter: str | None = None) -> tuple[list[str], str]:
    """The header and delimiter of a CSV that starts with ``raw`` (its first bytes, at least
    its first record), read as :class:`CsvReader` reads them; for inputs that are not local
    files (the Ray engine's).

    Example:
        >>> read_csv_header(b"id;text\\n1;x", "a.csv")
        (['id', 'text'], ';')
    """
    with large_fields():
        reader = CsvReader(io.BytesIO(raw), name, delimiter)
    return reader.header, reader.delimiter
