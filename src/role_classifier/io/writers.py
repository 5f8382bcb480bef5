"""The one writer of every output format, Parquet parts that resume, and counting what was
written.

:class:`RowWriter` appends chunks to a binary stream: CSV (optionally with a BOM), TSV, JSON
lines (each optionally gzipped, one gzip member per chunk), Parquet or Excel; float columns stay
floats in JSON lines, Parquet and Excel, and an empty value (None) is null there (an empty cell
in CSV); input cells are written back as they were read (:func:`.records.cell_text` in CSV).
:class:`ParquetParts` is Parquet output that can resume: one part file per chunk, joined into
one file at the end.
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
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .checkpoints import fsync
from .csv_reader import large_fields
from .formats import FORMATS, OutputPathError
from .records import _json_default, cell_text

__all__ = [
    "EXCEL_CELL_CHARS",
    "EXCEL_ROWS",
    "ParquetParts",
    "RowWriter",
    "arrow_schema",
    "count_output_rows",
    "json_number",
    "text_cell",
    "unique_names",
]

_PARQUET_GROUP_ROWS = 4096
_PARQUET_GROUP_BYTES = 32 << 20


def text_cell(value: Any) -> str:
    """An added cell as CSV writes it: None empty, a float to 4 places, a list as JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


def json_number(value: Any) -> Any:
    """An added cell as JSON lines, Parquet and Excel write it: a float to 4 places."""
    return round(value, 4) if isinstance(value, float) else value


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
            texts = [cell_text if t == "value" else text_cell for t in self.types]
            self._emit(self._csv([[to(v) for to, v in zip(texts, row)] for row in rows]))
        elif self.fmt == "jsonl":
            values = [_json_cell if t == "value" else json_number for t in self.types]
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
                (None if v is None else cell_text(v)) if as_text else json_number(v)
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
            return json_number(value)
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
