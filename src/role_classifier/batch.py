"""Label a CSV of job postings, streaming, resumable, and without dropping a row.

:func:`label_csv` reads the input in chunks of ``batch_size`` records, classifies each chunk's
valid rows in one batched pass (``encode`` embeds all windows of the chunk's ads together, sorted
by length) and appends the chunk to the output, so memory stays flat however long the file is.

* **Order and columns.** Every input record becomes one output row, in input order, with all its
  original cells, followed by ``predicted_role``, ``confidence``, ``runner_up``,
  ``runner_up_score`` (``runner_up_2``... with ``top_k`` > 1) and ``error``.
* **Bad rows** get an ``error`` value and empty prediction columns; the run goes on. Rows that
  were classified but need a second look (bytes that were not UTF-8, too few cells) get a
  prediction *and* an ``error`` that starts with ``warning:``.
* **Resume.** File outputs are written to ``OUTPUT.partial``; after each chunk is flushed and
  fsynced, ``OUTPUT.partial.json`` records the rows done and the byte length of the partial
  output (written to a temp file, then ``os.replace``). A rerun with ``resume=True`` truncates
  the partial output to that length, skips that many input records and goes on; the finished
  file is byte-identical to an uninterrupted run (same chunks, same computation).
* **Overlap.** A background thread reads, decodes, parses and validates the next chunks while
  the main thread runs the model (torch releases the GIL during the forward pass).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import os
import queue
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .model import RoleClassifier
from .text import Posting, clean_text, posting_text
from .threads import thread_limits

__all__ = [
    "ColumnClashError",
    "InputFormatError",
    "LabelCsvError",
    "LabelSummary",
    "MissingColumnError",
    "OutputIsInputError",
    "ProgressCallback",
    "ResumeError",
    "RowCountError",
    "count_records",
    "label_csv",
    "label_records",
    "output_columns",
    "output_format_for",
]

STATE_VERSION = 1
PARTIAL_SUFFIX = ".partial"
STATE_SUFFIX = ".partial.json"
FORMATS = ("csv", "jsonl", "parquet")
_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # a 1 MB cell is a record, not an error
_PARQUET_GROUP_ROWS = 4096
_PARQUET_GROUP_BYTES = 32 << 20

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(rows_done, total_rows)`` at the start and after every saved chunk.
``total_rows`` is None when unknown (standard input)."""


# -- errors ------------------------------------------------------------------------------------
class LabelCsvError(Exception):
    """A problem with the input, output or options; the message says what to do."""


class MissingColumnError(LabelCsvError):
    """The text or title column is not in the header."""


class ColumnClashError(LabelCsvError):
    """The input already has a column the output would add, or names the text column twice."""


class OutputIsInputError(LabelCsvError):
    """OUTPUT is the same file as INPUT."""


class InputFormatError(LabelCsvError):
    """The input cannot be read as a CSV with a header (empty, UTF-16, ...)."""


class ResumeError(LabelCsvError):
    """A leftover partial output without ``resume``, or a resume that does not match it."""


class RowCountError(LabelCsvError):
    """The output does not hold exactly one row per input record (a bug; the output is kept
    as ``OUTPUT.partial`` for inspection)."""


# -- result ------------------------------------------------------------------------------------
@dataclass
class LabelSummary:
    """What :func:`label_csv` did.

    Attributes:
        rows: data records read from the input (header excluded), resumed rows included.
        rows_written: data rows in the finished output (checked equal to ``rows``).
        errors: rows with an ``error`` and no prediction.
        warnings: rows with a prediction and a ``warning:`` in ``error``.
        label_counts: predicted label -> rows.
        seconds: wall time of this call.
        resumed_from: rows already done by an interrupted run (0 for a fresh run).
        output: the output path, or ``-``.
        columns: the output header.
        notes: things the caller should tell the user (a restarted parquet run, bad header bytes).
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

    @property
    def rows_per_second(self) -> float:
        """Rows classified by this call per second of wall time."""
        return (self.rows - self.resumed_from) / self.seconds if self.seconds > 0 else 0.0


# -- public helpers ----------------------------------------------------------------------------
def output_columns(top_k: int = 1) -> list[str]:
    """The columns :func:`label_csv` appends to the input's.

    Example:
        >>> output_columns(2)
        ['predicted_role', 'confidence', 'runner_up', 'runner_up_score', 'runner_up_2', \
'runner_up_2_score', 'error']
    """
    cols = ["predicted_role", "confidence"]
    for k in range(1, top_k + 1):
        name = "runner_up" if k == 1 else f"runner_up_{k}"
        cols += [name, f"{name}_score"]
    return [*cols, "error"]


def output_format_for(output: str | Path, output_format: str | None = None) -> str:
    """``csv``, ``jsonl`` or ``parquet``: ``output_format`` if given, else from the extension.

    Example:
        >>> output_format_for("labels.parquet"), output_format_for("-"), output_format_for("x.tsv")
        ('parquet', 'csv', 'csv')
    """
    if output_format is not None:
        fmt = output_format.lower()
        if fmt not in FORMATS:
            raise LabelCsvError(
                f"unknown output format {output_format!r}: use {', '.join(FORMATS)}"
            )
        return fmt
    suffix = Path(str(output)).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "csv"


def count_records(path: str | Path) -> int:
    """Records in a CSV file, header included: newlines outside double quotes, fast.

    Used for the progress bar's total; a quote inside an unquoted field can throw it off.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = p.write_bytes(b'id,text\\n1,"two\\nlines"\\n2,x')
        >>> count_records(p)
        3
    """
    n, in_quotes, last = 0, False, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            parts = block.split(b'"')
            for i, part in enumerate(parts):
                if not in_quotes:
                    n += part.count(b"\n")
                if i < len(parts) - 1:
                    in_quotes = not in_quotes
            last = block[-1:]
    return n + (last != b"\n")


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
                raise InputFormatError("the input is UTF-16; convert it to UTF-8 first")
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

    def take_notes(self) -> list[str]:
        """Notes about the lines read since the last call."""
        notes, self.notes = self.notes, []
        return notes


@dataclass
class _Row:
    """One input record, ready to classify (``posting``) or already failed (``error``)."""

    cells: list[str]
    posting: Posting | None = None
    error: str | None = None
    warning: str | None = None
    label: str | None = None
    confidence: float | None = None
    runner_ups: list[tuple[str, float]] = field(default_factory=list)


def _prepare(
    cells: list[str], notes: list[str], n_cols: int, text_idx: int, title_idx: int | None
) -> _Row:
    warnings = list(notes)
    if len(cells) > n_cols:
        extra = json.dumps(cells[n_cols:], ensure_ascii=False)
        return _Row(
            cells[:n_cols],
            error=f"row has {len(cells)} cells but the header has {n_cols}; extra cells: {extra}",
            warning="; ".join(warnings) or None,
        )
    if not cells:
        return _Row([""] * n_cols, error="blank line")
    if len(cells) < n_cols:
        warnings.append(f"row has {len(cells)} of {n_cols} cells; missing cells read as empty")
        cells = cells + [""] * (n_cols - len(cells))
    description = cells[text_idx]
    title = cells[title_idx] if title_idx is not None else None
    has_text = bool(clean_text(description))
    if has_text or (title is not None and posting_text(title, None)):
        if not has_text:
            warnings.append("empty text; classified from the title alone")
        return _Row(
            cells,
            Posting(description=description, title=title),
            warning="; ".join(warnings) or None,
        )
    row = _Row(cells, warning="; ".join(warnings) or None)
    if description.strip() or (title or "").strip():
        row.error = "no text left after removing HTML and whitespace"
    else:
        row.error = "empty text"
    return row


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


class _ChunkReader:
    """A background thread turning records into chunks of :class:`_Row` (bounded queue)."""

    def __init__(
        self,
        reader: Iterator[list[str]],
        decoder: _LineDecoder,
        skip: int,
        batch_size: int,
        prepare: Callable[[list[str], list[str]], _Row],
    ) -> None:
        self._reader, self._decoder, self._skip = reader, decoder, skip
        self._batch_size, self._prepare = batch_size, prepare
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self.skipped = 0
        self._thread = threading.Thread(target=self._run, name="label-csv-reader", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while self.skipped < self._skip and next(self._reader, None) is not None:
                self.skipped += 1
                self._decoder.take_notes()
            chunk: list[_Row] = []
            for cells in self._reader:
                chunk.append(self._prepare(cells, self._decoder.take_notes()))
                if len(chunk) == self._batch_size:
                    if not self._put(chunk):
                        return
                    chunk = []
            if chunk and not self._put(chunk):
                return
            self._put(_DONE)
        except BaseException as exc:  # handed to the main thread, which raises it
            self._put(_Failure(exc))

    def __iter__(self) -> Iterator[list[_Row]]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -- classifying -------------------------------------------------------------------------------
class _Labeller:
    """Fills label, confidence and runner-ups of a chunk's rows that have a posting, in one pass.

    If the batch fails, its rows are retried one by one so that one bad row cannot sink its
    chunk; but when many rows in a row fail, the model is broken, not the rows, and it raises.
    """

    max_failures_in_a_row = 8

    def __init__(self, clf: RoleClassifier, top_k: int) -> None:
        self.clf, self.top_k, self.streak = clf, top_k, 0

    def __call__(self, rows: Sequence[_Row]) -> None:
        todo = [r for r in rows if r.posting is not None and r.error is None]
        if not todo:
            return
        try:
            _classify_batch(self.clf, todo, self.top_k)
            self.streak = 0
            return
        except Exception:
            pass
        for row in todo:
            try:
                _classify_batch(self.clf, [row], self.top_k)
                self.streak = 0
            except Exception as exc:
                row.error = f"classification failed: {type(exc).__name__}: {exc}"
                self.streak += 1
                if self.streak >= self.max_failures_in_a_row:
                    raise RuntimeError(
                        f"{self.streak} rows in a row failed to classify, the last with "
                        f"{type(exc).__name__}: {exc}. The model looks broken, not the rows"
                    ) from exc


def _classify_batch(clf: RoleClassifier, rows: Sequence[_Row], top_k: int) -> None:
    postings = [r.posting for r in rows if r.posting is not None]
    proba = clf.proba_from_encoded(clf.encode(postings))
    idx = clf.decide(proba)
    labels = clf.labels
    for row, p, i in zip(rows, proba, idx, strict=True):
        order = [int(j) for j in np.argsort(-p, kind="stable") if j != i]
        row.label = labels[int(i)]
        row.confidence = float(p[i])
        row.runner_ups = [(labels[j], float(p[j])) for j in order[:top_k]]


def _output_values(row: _Row, top_k: int) -> list[str | float | None]:
    """The appended cells: label, confidence, runner-ups, error (None where empty)."""
    values: list[str | float | None] = [row.label, row.confidence]
    for k in range(top_k):
        name, score = row.runner_ups[k] if k < len(row.runner_ups) else (None, None)
        values += [name, score]
    messages = [m for m in (row.error, f"warning: {row.warning}" if row.warning else None) if m]
    values.append("; ".join(messages) or None)
    return values


def label_records(
    clf: RoleClassifier,
    records: Sequence[Sequence[str]],
    header: Sequence[str],
    *,
    text_column: str,
    title_column: str | None = None,
    top_k: int = 1,
) -> list[list[str | float | None]]:
    """The output values :func:`label_csv` appends to each record, for records already read.

    The same per-row path as :func:`label_csv` (checks, one batched pass, retry one by one,
    error and warning text), for other engines (:mod:`.ray_engine`) to reuse.

    Args:
        clf: the classifier.
        records: rows of cells in ``header`` order (too many cells: an error; too few: padded).
        header: the column names.
        text_column: the column holding the description.
        title_column: an optional column holding the title.
        top_k: runner-up roles per record.

    Returns:
        one list per record, in :func:`output_columns` order; floats unrounded, None where empty.

    Raises:
        MissingColumnError, ColumnClashError: the text or title column is absent or repeated.

    Example:
        >>> label_records(clf, [["Build RAG agents"], [""]], ["description"],
        ...               text_column="description")  # doctest: +SKIP
        [['AI Engineer', 0.81, 'ML Engineer', 0.07, None], [None, None, None, None, 'empty text']]
    """
    header = list(header)
    text_idx = _column_index(header, text_column, "text")
    title_idx = None if title_column is None else _column_index(header, title_column, "title")
    rows = [_prepare(list(cells), [], len(header), text_idx, title_idx) for cells in records]
    _Labeller(clf, top_k)(rows)
    return [_output_values(row, top_k) for row in rows]


# -- writing -----------------------------------------------------------------------------------
def _text(value: str | float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else value


def _unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique for JSON keys and parquet fields: a repeated ``x`` becomes
    ``x.1``, ``x.2``... (pandas' convention).

    Example:
        >>> _unique_names(["id", "text", "id", "id"])
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


class _Writer:
    """Appends rows to a binary stream as CSV, JSON lines or parquet."""

    def __init__(self, f: IO[bytes], fmt: str, header: list[str]) -> None:
        self.f, self.fmt, self.header = f, fmt, header
        self.keys = _unique_names(header)
        self._pq: Any = None
        self._buffer: list[list[str]] = []
        self._buffer_bytes = 0

    def write_header(self) -> None:
        if self.fmt == "csv":
            self._write_csv([self.header])
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(k, pa.string()) for k in self.keys])
            self._pq = pq.ParquetWriter(self.f, schema)

    def write(self, rows: list[list[str | float | None]]) -> None:
        if self.fmt == "csv":
            self._write_csv([[_text(v) for v in row] for row in rows])
        elif self.fmt == "jsonl":
            lines = []
            for row in rows:
                obj = {
                    k: (round(v, 4) if isinstance(v, float) else v)
                    for k, v in zip(self.keys, row, strict=True)
                }
                lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
            self.f.write("".join(lines).encode("utf-8"))
        else:
            for row in rows:
                cells = [_text(v) for v in row]
                self._buffer.append(cells)
                self._buffer_bytes += sum(len(c) for c in cells)
            if (
                len(self._buffer) >= _PARQUET_GROUP_ROWS
                or self._buffer_bytes >= _PARQUET_GROUP_BYTES
            ):
                self._flush_parquet()

    def _write_csv(self, rows: list[list[str]]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.f.write(buf.getvalue().encode("utf-8"))

    def _flush_parquet(self) -> None:
        if self._buffer:
            import pyarrow as pa

            columns = [pa.array(col, type=pa.string()) for col in zip(*self._buffer, strict=True)]
            self._pq.write_table(pa.Table.from_arrays(columns, schema=self._pq.schema))
            self._buffer, self._buffer_bytes = [], 0

    def close(self) -> None:
        if self._pq is not None:
            self._flush_parquet()
            self._pq.close()

    def abort(self) -> None:
        """Close a parquet writer before its file is closed (the partial file is not used)."""
        if self._pq is not None:
            with contextlib.suppress(Exception):
                self._pq.close()


def _count_output_rows(path: Path, fmt: str) -> int:
    """Data rows in a finished output file, read back from disk."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "jsonl":
            return sum(1 for _ in f)
        return sum(1 for _ in csv.reader(f)) - 1


# -- resume state ------------------------------------------------------------------------------
def _model_fingerprint(clf: RoleClassifier) -> str:
    """A short hash of what decides the predictions: config, taxonomy and head weights."""
    h = hashlib.sha256()
    meta = {"config": dataclasses.asdict(clf.config), "taxonomy": clf.taxonomy.to_dict()}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for key in sorted(clf.head or {}):
        h.update(key.encode())
        h.update(np.ascontiguousarray(clf.head[key]).tobytes())  # type: ignore[index]
    return h.hexdigest()[:16]


def _input_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _fsync(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state file atomically: a temp file, fsync, then ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
        _fsync(f)
    os.replace(tmp, path)


def _check_resume(state: dict[str, Any], expected: dict[str, Any], state_path: Path) -> None:
    if state.get("version") != STATE_VERSION:
        raise ResumeError(f"{state_path}: unknown state version {state.get('version')!r}")
    diffs = []
    for key in ("input", "options"):
        saved, now = state.get(key, {}), expected[key]
        for k in sorted(set(saved) | set(now)):
            if saved.get(k) != now.get(k):
                diffs.append(f"{key} {k}: was {saved.get(k)!r}, now {now.get(k)!r}")
    if diffs:
        raise ResumeError(
            "cannot resume: the interrupted run used a different input or options ("
            + "; ".join(diffs)
            + f"). Rerun with the same ones, or delete {state_path} and its partial output "
            "to start over"
        )


# -- the job -----------------------------------------------------------------------------------
def label_csv(
    input: str | Path,
    output: str | Path,
    *,
    text_column: str,
    title_column: str | None = None,
    model: str | Path | RoleClassifier = "default",
    batch_size: int = 64,
    top_k: int = 1,
    resume: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    output_format: str | None = None,
) -> LabelSummary:
    """Label every row of a CSV of postings with its predicted role, streaming.

    Args:
        input: a CSV file with a header, or ``"-"`` for standard input.
        output: ``.csv``, ``.jsonl`` or ``.parquet`` file (by extension), or ``"-"`` for
            standard output (CSV or JSON lines).
        text_column: the column holding the posting's description.
        title_column: an optional column holding its title.
        model: a :class:`RoleClassifier`, or what :meth:`RoleClassifier.from_pretrained` loads.
        batch_size: rows classified, written and checkpointed together.
        top_k: runner-up roles written per row.
        resume: continue an interrupted run from its ``OUTPUT.partial``.
        workers: threads for the model (one per core when None; see :mod:`.threads`).
        progress: ``progress(rows_done, total_rows)`` after each saved chunk; quiet when None.
        output_format: ``csv``, ``jsonl`` or ``parquet`` instead of guessing from ``output``.

    Returns:
        a :class:`LabelSummary`; ``rows == rows_written`` is checked before it returns.

    Raises:
        MissingColumnError, ColumnClashError, OutputIsInputError, InputFormatError,
        ResumeError: with a message saying what to do (all are :class:`LabelCsvError`).

    Example:
        >>> s = label_csv("jobs.csv", "labelled.csv", text_column="description",
        ...               title_column="title", model="zero-shot")  # doctest: +SKIP
        >>> s.rows, s.errors, s.label_counts["AI Engineer"]  # doctest: +SKIP
        (1200, 3, 210)
    """
    started = time.perf_counter()
    if batch_size < 1:
        raise LabelCsvError(f"batch_size must be at least 1, got {batch_size}")
    if top_k < 0:
        raise LabelCsvError(f"top_k must be at least 0, got {top_k}")
    fmt = output_format_for(output, output_format)
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    if out_path is None and fmt == "parquet":
        raise LabelCsvError("parquet cannot be written to standard output: give a file name")
    if out_path is None and resume:
        raise ResumeError("--resume needs an output file: standard output cannot be resumed")
    if in_path is not None:
        if not in_path.is_file():
            raise LabelCsvError(f"{in_path}: no such file")
        if out_path is not None and _same_file(in_path, out_path):
            raise OutputIsInputError(
                f"OUTPUT is the input file {in_path}: write to a new file (the input is never "
                "overwritten)"
            )

    old_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(thread_limits(workers))
            raw: IO[bytes] = (
                sys.stdin.buffer if in_path is None else stack.enter_context(open(in_path, "rb"))
            )
            return _run(
                raw,
                in_path,
                out_path,
                fmt,
                text_column=text_column,
                title_column=title_column,
                model=model,
                batch_size=batch_size,
                top_k=top_k,
                resume=resume,
                progress=progress,
                started=started,
            )
    finally:
        csv.field_size_limit(old_limit)


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _column_index(header: list[str], name: str, what: str) -> int:
    hits = [i for i, h in enumerate(header) if h == name]
    if not hits:
        shown = ", ".join(repr(h) for h in header)
        raise MissingColumnError(f"no {what} column {name!r}; the input's columns are: {shown}")
    if len(hits) > 1:
        where = ", ".join(str(i + 1) for i in hits)
        raise ColumnClashError(
            f"the {what} column {name!r} appears {len(hits)} times (columns {where}); "
            "rename the copies so it is clear which one to read"
        )
    return hits[0]


def _run(
    raw: IO[bytes],
    in_path: Path | None,
    out_path: Path | None,
    fmt: str,
    *,
    text_column: str,
    title_column: str | None,
    model: str | Path | RoleClassifier,
    batch_size: int,
    top_k: int,
    resume: bool,
    progress: ProgressCallback | None,
    started: float,
) -> LabelSummary:
    decoder = _LineDecoder(raw)
    reader = csv.reader(decoder)
    header = next(reader, None)
    if header is None:
        raise InputFormatError("the input is empty: expected a header row naming the columns")
    if not header:
        raise InputFormatError("the first line is blank: expected a header row naming the columns")
    notes = [f"header: {n}" for n in decoder.take_notes()]
    text_idx = _column_index(header, text_column, "text")
    title_idx = None if title_column is None else _column_index(header, title_column, "title")
    added = output_columns(top_k)
    clash = [c for c in added if c in header]
    if clash:
        raise ColumnClashError(
            f"the input already has column(s) {', '.join(map(repr, clash))} that label-csv adds "
            "(is it an earlier label-csv output?); drop or rename them first"
        )
    columns = header + added
    clf = model if isinstance(model, RoleClassifier) else RoleClassifier.from_pretrained(model)
    clf.encoder  # load the backbone now, not inside the first chunk's timing  # noqa: B018

    state_path = partial = None
    state: dict[str, Any] = {}
    skip = 0
    counts: Counter[str] = Counter()
    errors = warnings = 0
    offset = 0
    if out_path is not None:
        partial = out_path.with_name(out_path.name + PARTIAL_SUFFIX)
        state_path = out_path.with_name(out_path.name + STATE_SUFFIX)
        leftovers = [p for p in (partial, state_path) if p.exists()]
        if leftovers and not resume:
            them = "them" if len(leftovers) > 1 else "it"
            how = (
                f"delete {them} to start over (a run from standard input cannot be resumed)"
                if in_path is None
                else f"pass --resume (resume=True) to continue it, or delete {them} to start over"
            )
            raise ResumeError(f"an interrupted run left {' and '.join(map(str, leftovers))}: {how}")
        if resume and in_path is None:
            raise ResumeError("--resume needs INPUT to be a file: standard input cannot be re-read")
        if in_path is not None and fmt != "parquet":
            state = {
                "version": STATE_VERSION,
                "input": _input_identity(in_path),
                "options": {
                    "text_column": text_column,
                    "title_column": title_column,
                    "top_k": top_k,
                    "batch_size": batch_size,
                    "format": fmt,
                    "model": _model_fingerprint(clf),
                },
            }
        if leftovers:  # and resume
            if fmt == "parquet":
                notes.append("parquet output cannot be resumed: restarted from the first row")
            elif not state_path.exists() or not partial.exists():
                notes.append("no complete checkpoint was saved: restarted from the first row")
            else:
                try:
                    saved = json.loads(state_path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ResumeError(
                        f"{state_path} is unreadable ({exc}); delete it and {partial} to start over"
                    ) from exc
                _check_resume(saved, state, state_path)
                offset = int(saved["offset"])
                if partial.stat().st_size < offset:
                    raise ResumeError(
                        f"{partial} is shorter than its checkpoint says ({offset} bytes): it was "
                        "changed by hand; delete it and its state file to start over"
                    )
                skip = int(saved["rows_done"])
                counts = Counter(saved.get("label_counts", {}))
                errors, warnings = int(saved.get("errors", 0)), int(saved.get("warnings", 0))
            if skip == 0:
                for p in leftovers:
                    p.unlink()

    total = None
    if progress is not None and in_path is not None:
        total = max(count_records(in_path) - 1, 0)
        progress(skip, total)

    n_cols = len(header)

    def prepare(cells: list[str], line_notes: list[str]) -> _Row:
        return _prepare(cells, line_notes, n_cols, text_idx, title_idx)

    with contextlib.ExitStack() as stack:
        if partial is None:
            f: IO[bytes] = sys.stdout.buffer
            sys.stdout.flush()
        elif skip:
            f = stack.enter_context(open(partial, "r+b"))
            f.truncate(offset)
            f.seek(offset)
        else:
            f = stack.enter_context(open(partial, "wb"))
        writer = _Writer(f, fmt, columns)
        if not skip:
            writer.write_header()
        done = skip

        def commit() -> None:
            if partial is None:
                f.flush()
                return
            _fsync(f)
            if state:
                state.update(
                    rows_done=done,
                    offset=f.tell(),
                    errors=errors,
                    warnings=warnings,
                    label_counts=dict(sorted(counts.items())),
                )
                _save_state(state_path, state)  # type: ignore[arg-type]

        commit()
        chunks = _ChunkReader(reader, decoder, skip, batch_size, prepare)
        classify = _Labeller(clf, top_k)
        try:
            for chunk in chunks:
                classify(chunk)
                writer.write([row.cells + _output_values(row, top_k) for row in chunk])
                for row in chunk:
                    if row.label is not None:
                        counts[row.label] += 1
                    errors += row.label is None
                    warnings += row.label is not None and row.warning is not None
                done += len(chunk)
                commit()
                if progress is not None:
                    progress(done, total)
        except BaseException:
            writer.abort()
            raise
        finally:
            chunks.close()
        if chunks.skipped < skip:
            raise ResumeError(
                f"the input has {chunks.skipped} rows but the checkpoint says {skip} were done"
            )
        writer.close()
        if partial is not None:
            _fsync(f)

    written = done
    if partial is not None and out_path is not None:
        written = _count_output_rows(partial, fmt)
        if written != done:
            raise RowCountError(
                f"read {done} rows but {partial} holds {written}; it was kept for inspection"
            )
        os.replace(partial, out_path)
        if state_path is not None and state_path.exists():
            state_path.unlink()
    return LabelSummary(
        rows=done,
        rows_written=written,
        errors=errors,
        warnings=warnings,
        label_counts=dict(counts.most_common()),
        seconds=time.perf_counter() - started,
        resumed_from=skip,
        output=str(out_path) if out_path is not None else "-",
        columns=columns,
        notes=notes,
    )
