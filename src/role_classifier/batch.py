"""Label a CSV of job postings, streaming, resumable, and without dropping a row.

:func:`label_csv` reads the input in chunks of ``batch_size`` records, classifies each chunk's
valid rows in one batched pass (``encode`` embeds all windows of the chunk's ads together, sorted
by length) and appends the chunk to the output, so memory stays flat however long the file is.

* **Reading** is :mod:`.csvio`'s, the same as ``train`` and ``evaluate``: per-line UTF-8 with a
  noted Windows-1252 fallback, a sniffed (or given) delimiter, the same filters. A plain
  generator feeds the chunks: reading and cleaning are a fraction of a percent of the model's
  time, so no reader thread is needed.
* **Order and columns.** Every input record (that passes ``filters``) becomes one output row, in
  input order, with all its original cells, followed by ``predicted_role``, ``confidence``,
  ``runner_up``, ``runner_up_score`` (``runner_up_2``... with ``top_k`` > 1),
  ``role_below_threshold`` (with ``min_confidence``), ``evidence`` (with ``evidence``) and
  ``error``.
* **Bad rows** get an ``error`` value and empty prediction columns; the run goes on. A record
  with more or fewer cells than the header is such a row. Rows that were classified but need a
  second look (bytes that were not UTF-8, a title and no text) get a prediction *and* an
  ``error`` that starts with ``warning:``.
* **Mistakes first.** OUTPUT (a directory, a missing folder, an unknown extension), the columns,
  a leftover partial run and ``resume`` are all checked before the model loads or a row is
  classified (:func:`check_paths`), and nothing is written when one is wrong.
* **Resume.** File outputs are written to ``OUTPUT.partial``; after each chunk is flushed and
  fsynced, ``OUTPUT.partial.json`` records the rows done and the byte length of the partial
  output (:func:`.csvio.save_checkpoint`). A rerun with ``resume=True`` truncates the partial
  output to that length, skips that many input records and goes on; the finished file is
  byte-identical to an uninterrupted run (same chunks, same computation). ``overwrite=True``
  discards a leftover partial run instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import csvio
from .csvio import FORMATS, CsvInputError, CsvReader, OutputPathError, RowFilter, RowWriter
from .model import RoleClassifier
from .text import Posting, clean_text, posting_text
from .threads import thread_limits

__all__ = [
    "FORMATS",
    "ColumnClashError",
    "InputFormatError",
    "LabelCsvError",
    "LabelSummary",
    "MissingColumnError",
    "OutputError",
    "OutputIsInputError",
    "ProgressCallback",
    "ResumeError",
    "RowCountError",
    "check_paths",
    "count_records",
    "label_csv",
    "label_records",
    "output_columns",
    "output_format_for",
]

STATE_VERSION = 2
PARTIAL_SUFFIX = ".partial"
STATE_SUFFIX = ".partial.json"

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(rows_done, total_rows)`` at the start and after every saved chunk.
``total_rows`` is None when unknown (standard input)."""


# -- errors ------------------------------------------------------------------------------------
class LabelCsvError(Exception):
    """A problem with the input, output or options; the message says what to do."""


class MissingColumnError(LabelCsvError):
    """The text, title or a filter column is not in the header."""


class ColumnClashError(LabelCsvError):
    """The input already has a column the output would add, or names the text column twice."""


class OutputIsInputError(LabelCsvError):
    """OUTPUT is the same file as INPUT."""


class OutputError(LabelCsvError):
    """OUTPUT cannot be written as asked: a directory, a missing folder, an unknown format."""


class InputFormatError(LabelCsvError):
    """The input cannot be read as a CSV with a header (missing, empty, UTF-16, ...)."""


class ResumeError(LabelCsvError):
    """A leftover partial output without ``resume`` or ``overwrite``, a resume with nothing to
    resume, or a resume that does not match the partial run."""


class RowCountError(LabelCsvError):
    """The output does not hold exactly one row per input record (a bug; the output is kept
    as ``OUTPUT.partial`` for inspection)."""


# -- result ------------------------------------------------------------------------------------
@dataclass
class LabelSummary:
    """What :func:`label_csv` did.

    Attributes:
        rows: data records read from the input (header excluded), resumed rows included.
        rows_written: data rows in the finished output (checked: ``rows - filtered_out``).
        errors: rows with an ``error`` and no prediction.
        warnings: rows with a prediction and a ``warning:`` in ``error``.
        label_counts: predicted label -> rows.
        seconds: wall time of this call.
        resumed_from: rows already done by an interrupted run (0 for a fresh run).
        output: the output path, or ``-``.
        columns: the output header.
        notes: things the caller should tell the user (a restarted parquet run, bad header
            bytes, a sniffed delimiter, the ``min_confidence`` threshold).
        filtered_out: records left out by ``filters``.
        min_confidence: the threshold used (None: the model's own decisions).
        below_min_confidence: rows labelled Other because their best role was below it.
        delimiter: the input's delimiter (given or sniffed).
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
    filtered_out: int = 0
    min_confidence: float | None = None
    below_min_confidence: int = 0
    delimiter: str = ","

    @property
    def rows_per_second(self) -> float:
        """Rows classified by this call per second of wall time."""
        return (self.rows - self.resumed_from) / self.seconds if self.seconds > 0 else 0.0


# -- public helpers ----------------------------------------------------------------------------
def output_columns(
    top_k: int = 1, *, min_confidence: bool = False, evidence: bool = False
) -> list[str]:
    """The columns :func:`label_csv` appends to the input's.

    Args:
        top_k: runner-up roles per row.
        min_confidence: with a ``min_confidence`` threshold: adds ``role_below_threshold``.
        evidence: with ``evidence`` sentences: adds ``evidence``.

    Example:
        >>> output_columns(2)
        ['predicted_role', 'confidence', 'runner_up', 'runner_up_score', 'runner_up_2', \
'runner_up_2_score', 'error']
        >>> output_columns(0, min_confidence=True, evidence=True)
        ['predicted_role', 'confidence', 'role_below_threshold', 'evidence', 'error']
    """
    cols = ["predicted_role", "confidence"]
    for k in range(1, top_k + 1):
        name = "runner_up" if k == 1 else f"runner_up_{k}"
        cols += [name, f"{name}_score"]
    if min_confidence:
        cols.append("role_below_threshold")
    if evidence:
        cols.append("evidence")
    return [*cols, "error"]


def _column_types(columns: Sequence[str]) -> list[str]:
    return [
        "float"
        if c == "confidence" or (c.startswith("runner_up") and c.endswith("_score"))
        else "list"
        if c == "evidence"
        else "string"
        for c in columns
    ]


def output_format_for(output: str | Path, output_format: str | None = None) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet``: ``output_format`` if given, else from the
    extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet``/``.pq``; ``-`` is CSV).

    Raises:
        OutputError: an unknown format or extension (``.xlsx``, ``.txt``, none).

    Example:
        >>> output_format_for("labels.parquet"), output_format_for("-"), output_format_for("x.tsv")
        ('parquet', 'csv', 'tsv')
    """
    try:
        return csvio.output_format_for(output, output_format)
    except OutputPathError as exc:
        raise OutputError(str(exc)) from None


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


def _when(path: Path) -> str:
    """When a file was last written, local time, to the second."""
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")


def check_paths(
    input: str | Path,
    output: str | Path,
    *,
    output_format: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> str:
    """Check INPUT, OUTPUT and the resume options before any work; returns the output format.

    :func:`label_csv` calls it first; a command line can call it before loading a model.

    Raises:
        InputFormatError: INPUT is not a file.
        OutputIsInputError: OUTPUT is INPUT.
        OutputError: OUTPUT is a directory, its folder does not exist, or its extension names
            no format (without ``output_format``); parquet to standard output.
        ResumeError: a partial run is left over and neither ``resume`` nor ``overwrite`` is
            given; ``resume`` with nothing to resume, with standard input or output, or
            together with ``overwrite``.

    Example:
        >>> check_paths("jobs.csv", "labelled.xlsx")  # doctest: +SKIP
        Traceback (most recent call last):
        OutputError: OUTPUT labelled.xlsx has extension '.xlsx': name it with one of .csv, ...
    """
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    if out_path is not None:
        try:
            csvio.check_output_path(out_path)
        except OutputPathError as exc:
            raise OutputError(str(exc)) from None
    fmt = output_format_for(output, output_format)
    if resume and overwrite:
        raise ResumeError(
            "--resume continues an interrupted run and --overwrite discards it: pass only one"
        )
    if out_path is None and fmt == "parquet":
        raise OutputError("parquet cannot be written to standard output: give a file name")
    if out_path is None and resume:
        raise ResumeError("--resume needs an output file: standard output cannot be resumed")
    if in_path is not None:
        if not in_path.is_file():
            what = "a directory" if in_path.is_dir() else "no such file"
            raise InputFormatError(f"INPUT {in_path}: {what}; give a CSV file, or '-' for stdin")
        if out_path is not None and _same_file(in_path, out_path):
            raise OutputIsInputError(
                f"OUTPUT is the input file {in_path}: write to a new file (the input is never "
                "overwritten)"
            )
    elif resume:
        raise ResumeError("--resume needs INPUT to be a file: standard input cannot be re-read")
    if out_path is None:
        return fmt
    partial, state = _leftover_paths(out_path)
    leftovers = [p for p in (partial, state) if p.exists()]
    if leftovers and not (resume or overwrite):
        newest = max(leftovers, key=lambda p: p.stat().st_mtime)
        done = ""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            done = f", {int(csvio.load_checkpoint(state)['rows_done']):,} rows done"
        how = (
            "a run from standard input cannot be resumed: rerun with --overwrite to discard it"
            if in_path is None
            else "rerun with --resume to continue it, or with --overwrite to discard it and "
            "start over"
        )
        raise ResumeError(
            f"an interrupted run left {partial.name if partial.exists() else state.name} in "
            f"{out_path.parent} (last written {_when(newest)}{done}): {how}"
        )
    if resume and not leftovers:
        if out_path.exists():
            raise ResumeError(
                f"nothing to resume: {out_path} was finished (last written {_when(out_path)}) "
                "and no interrupted run is left; run without --resume to label again"
            )
        raise ResumeError(
            f"nothing to resume: no interrupted run left {partial}; run without --resume"
        )
    return fmt


def _leftover_paths(out_path: Path) -> tuple[Path, Path]:
    return (
        out_path.with_name(out_path.name + PARTIAL_SUFFIX),
        out_path.with_name(out_path.name + STATE_SUFFIX),
    )


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


# -- rows --------------------------------------------------------------------------------------
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
    below_threshold: str | None = None
    evidence: list[str] | None = None


def _prepare(
    cells: list[str], notes: list[str], n_cols: int, text_idx: int, title_idx: int | None
) -> _Row:
    warnings = list(notes)
    warning = "; ".join(warnings) or None
    if not cells:
        return _Row([""] * n_cols, error="blank line", warning=warning)
    if len(cells) != n_cols:  # ragged: the same rule as csvio.Record.ragged_message
        record = csvio.Record(0, cells, n_cols)
        padded = cells[:n_cols] + [""] * (n_cols - len(cells))
        return _Row(padded, error=record.ragged_message(), warning=warning)
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
    row = _Row(cells, warning=warning)
    if description.strip() or (title or "").strip():
        row.error = "no text left after removing HTML and whitespace"
    else:
        row.error = "empty text"
    return row


def _chunks(
    reader: CsvReader,
    batch_size: int,
    prepare: Callable[[list[str], list[str]], _Row],
    keep: RowFilter,
) -> Iterator[tuple[list[_Row], int]]:
    """Chunks of up to ``batch_size`` prepared rows, each with the input records it consumed
    (records left out by ``keep`` included). Ragged rows are kept whatever the filters say, so
    they show up as errors."""
    chunk: list[_Row] = []
    consumed = 0
    for record in reader:
        consumed += 1
        if not record.ragged and not keep(record.cells):
            continue
        chunk.append(prepare(record.cells, record.notes))
        if len(chunk) == batch_size:
            yield chunk, consumed
            chunk, consumed = [], 0
    if chunk or consumed:
        yield chunk, consumed


# -- classifying -------------------------------------------------------------------------------
class _Labeller:
    """Fills label, confidence and runner-ups of a chunk's rows that have a posting, in one pass.

    If the batch fails, its rows are retried one by one so that one bad row cannot sink its
    chunk; but when many rows in a row fail, the model is broken, not the rows, and it raises.
    """

    max_failures_in_a_row = 8

    def __init__(
        self,
        clf: RoleClassifier,
        top_k: int,
        *,
        evidence: int = 0,
        min_confidence: float | None = None,
    ) -> None:
        self.clf, self.top_k, self.streak = clf, top_k, 0
        self.evidence, self.min_confidence = evidence, min_confidence

    def __call__(self, rows: Sequence[_Row]) -> None:
        todo = [r for r in rows if r.posting is not None and r.error is None]
        if not todo:
            return
        args = (self.clf, todo, self.top_k, self.evidence, self.min_confidence)
        try:
            _classify_batch(*args)
            self.streak = 0
            return
        except Exception:
            pass
        for row in todo:
            try:
                _classify_batch(self.clf, [row], *args[2:])
                self.streak = 0
            except Exception as exc:
                row.error = f"classification failed: {type(exc).__name__}: {exc}"
                self.streak += 1
                if self.streak >= self.max_failures_in_a_row:
                    raise RuntimeError(
                        f"{self.streak} rows in a row failed to classify, the last with "
                        f"{type(exc).__name__}: {exc}. The model looks broken, not the rows"
                    ) from exc

    def values(self, rows: Sequence[_Row]) -> list[list[Any]]:
        """Classify ``rows`` and return their output values (the one path of every engine)."""
        self(rows)
        return [
            _output_values(
                row,
                self.top_k,
                min_confidence=self.min_confidence is not None,
                evidence=self.evidence > 0,
            )
            for row in rows
        ]


def _classify_batch(
    clf: RoleClassifier,
    rows: Sequence[_Row],
    top_k: int,
    evidence: int = 0,
    min_confidence: float | None = None,
) -> None:
    """One :meth:`RoleClassifier.classify` pass; a decided role whose probability is below
    ``min_confidence`` becomes Other (the role is kept in ``below_threshold``)."""
    postings = [r.posting for r in rows if r.posting is not None]
    preds = clf.classify(postings, top_k=top_k, evidence=evidence)
    other = clf.taxonomy.other_label
    for row, pred in zip(rows, preds, strict=True):  # type: ignore[arg-type]
        label = pred.label
        if min_confidence is not None and label != other and pred.confidence < min_confidence:
            row.below_threshold, label = label, other
        ranked = sorted(pred.scores.items(), key=lambda kv: -kv[1])
        row.label = label
        row.confidence = pred.scores[label]
        row.runner_ups = [(k, v) for k, v in ranked if k != label][:top_k]
        row.evidence = list(pred.evidence) if evidence else None


def _output_values(
    row: _Row, top_k: int, *, min_confidence: bool = False, evidence: bool = False
) -> list[Any]:
    """The appended cells (see :func:`output_columns`), None where empty."""
    values: list[Any] = [row.label, row.confidence]
    for k in range(top_k):
        name, score = row.runner_ups[k] if k < len(row.runner_ups) else (None, None)
        values += [name, score]
    if min_confidence:
        values.append(row.below_threshold)
    if evidence:
        values.append(row.evidence)
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
    min_confidence: float | None = None,
    evidence: int = 0,
) -> list[list[Any]]:
    """The output values :func:`label_csv` appends to each record, for records already read.

    The same per-row path as :func:`label_csv` (checks, one batched pass, retry one by one,
    error and warning text), for other engines (:mod:`.ray_engine`) to reuse.

    Args:
        clf: the classifier.
        records: rows of cells in ``header`` order (more or fewer cells: an error row).
        header: the column names.
        text_column: the column holding the description.
        title_column: an optional column holding the title.
        top_k: runner-up roles per record.
        min_confidence: a decided role below this probability becomes Other.
        evidence: sentences quoted per record (0: no ``evidence`` column).

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
    labeller = _Labeller(clf, top_k, evidence=evidence, min_confidence=min_confidence)
    return labeller.values(rows)


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


def _count_output_rows(path: Path, fmt: str) -> int:
    """Data rows in a finished output file, read back from disk."""
    return csvio.count_output_rows(path, fmt)


def _check_resume(state: dict[str, Any], expected: dict[str, Any], state_path: Path) -> None:
    if state.get("version") != STATE_VERSION:
        raise ResumeError(
            f"{state_path} was written by another version of label-csv (state version "
            f"{state.get('version')!r}); rerun with --overwrite to start over"
        )
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
            + "). Rerun with the same ones, or with --overwrite instead of --resume to start over"
        )


# -- the job -----------------------------------------------------------------------------------
ModelSpec = str | Path | RoleClassifier | Callable[[], RoleClassifier]


def label_csv(
    input: str | Path,
    output: str | Path,
    *,
    text_column: str,
    title_column: str | None = None,
    model: ModelSpec = "default",
    batch_size: int = 64,
    top_k: int = 1,
    resume: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    output_format: str | None = None,
    overwrite: bool = False,
    delimiter: str | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    min_confidence: float | None = None,
    evidence: int = 0,
) -> LabelSummary:
    """Label every row of a CSV of postings with its predicted role, streaming.

    Args:
        input: a CSV file with a header, or ``"-"`` for standard input.
        output: a ``.csv``, ``.tsv``, ``.jsonl`` (``.ndjson``) or ``.parquet`` (``.pq``) file, or
            ``"-"`` for standard output (CSV, TSV or JSON lines).
        text_column: the column holding the posting's description.
        title_column: an optional column holding its title.
        model: a :class:`RoleClassifier`, what :meth:`RoleClassifier.from_pretrained` loads, or
            a function returning one (called after the input and output are checked).
        batch_size: rows classified, written and checkpointed together.
        top_k: runner-up roles written per row.
        resume: continue an interrupted run from its ``OUTPUT.partial``.
        workers: threads for the model (one per core when None; see :mod:`.threads`).
        progress: ``progress(rows_done, total_rows)`` after each saved chunk; quiet when None.
        output_format: ``csv``, ``tsv``, ``jsonl`` or ``parquet`` instead of the extension's.
        overwrite: discard a partial output left by an interrupted run and start over.
        delimiter: the input's delimiter (one character); sniffed from the header when None.
        filters: ``{column: [values]}``: label only records whose cell is one of the values
            (the rest are left out of the output and counted in ``filtered_out``).
        min_confidence: a decided role whose probability is below this becomes Other; the role
            is kept in a ``role_below_threshold`` column (``evaluate`` reports a good value).
        evidence: with N > 0, an ``evidence`` column holds the N sentences that most support
            each decision (a JSON list in CSV, a list in JSON lines and parquet).

    Returns:
        a :class:`LabelSummary`; ``rows_written == rows - filtered_out`` is checked before it
        returns.

    Raises:
        MissingColumnError, ColumnClashError, OutputIsInputError, OutputError, InputFormatError,
        ResumeError: with a message saying what to do (all are :class:`LabelCsvError`), raised
        before the model is loaded or anything is written.

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
    if evidence < 0:
        raise LabelCsvError(f"evidence must be at least 0, got {evidence}")
    if min_confidence is not None and not 0 <= min_confidence <= 1:
        raise LabelCsvError(f"min_confidence must be between 0 and 1, got {min_confidence}")
    fmt = check_paths(
        input, output, output_format=output_format, resume=resume, overwrite=overwrite
    )
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    try:
        delimiter = csvio.parse_delimiter(delimiter)
        with contextlib.ExitStack() as stack:
            reader = stack.enter_context(csvio.open_csv(input, delimiter=delimiter))
            stack.enter_context(thread_limits(workers))
            return _run(
                reader,
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
                filters=filters,
                min_confidence=min_confidence,
                evidence=evidence,
            )
    except CsvInputError as exc:
        raise InputFormatError(str(exc)) from None


def _run(
    reader: CsvReader,
    in_path: Path | None,
    out_path: Path | None,
    fmt: str,
    *,
    text_column: str,
    title_column: str | None,
    model: ModelSpec,
    batch_size: int,
    top_k: int,
    resume: bool,
    progress: ProgressCallback | None,
    started: float,
    filters: Mapping[str, Sequence[str]] | None,
    min_confidence: float | None,
    evidence: int,
) -> LabelSummary:
    header = reader.header
    notes = list(reader.header_notes)
    if reader.sniffed and reader.delimiter != ",":
        notes.append(
            f"read as {csvio.delimiter_name(reader.delimiter)}-separated (sniffed from the "
            "header; --delimiter sets it)"
        )
    text_idx = _column_index(header, text_column, "text")
    title_idx = None if title_column is None else _column_index(header, title_column, "title")
    keep = RowFilter(header, filters)
    if keep.missing:
        shown = ", ".join(repr(h) for h in header)
        raise MissingColumnError(
            f"no filter column {', '.join(map(repr, keep.missing))}; the input's columns are: "
            f"{shown}"
        )
    added = output_columns(top_k, min_confidence=min_confidence is not None, evidence=evidence > 0)
    clash = [c for c in added if c in header]
    if clash:
        raise ColumnClashError(
            f"the input already has column(s) {', '.join(map(repr, clash))} that label-csv adds "
            "(is it an earlier label-csv output?); drop or rename them first"
        )
    columns = header + added
    if isinstance(model, RoleClassifier):
        clf = model
    elif callable(model):
        clf = model()
    else:
        clf = RoleClassifier.from_pretrained(model)
    clf.encoder  # load the backbone now, not inside the first chunk's timing  # noqa: B018

    state_path = partial = None
    state: dict[str, Any] = {}
    skip = 0
    counts: Counter[str] = Counter()
    errors = warnings = filtered = below = 0
    offset = 0
    if out_path is not None:
        partial, state_path = _leftover_paths(out_path)
        leftovers = [p for p in (partial, state_path) if p.exists()]
        if in_path is not None and fmt != "parquet":
            state = {
                "version": STATE_VERSION,
                "input": csvio.input_identity(in_path),
                "options": {
                    "text_column": text_column,
                    "title_column": title_column,
                    "top_k": top_k,
                    "batch_size": batch_size,
                    "format": fmt,
                    "model": _model_fingerprint(clf),
                    "delimiter": reader.delimiter,
                    "filters": {k: sorted(v) for k, v in (filters or {}).items()},
                    "min_confidence": min_confidence,
                    "evidence": evidence,
                },
            }
        if leftovers and resume:
            if fmt == "parquet":
                notes.append("parquet output cannot be resumed: restarted from the first row")
            elif not state_path.exists() or not partial.exists():
                notes.append("no complete checkpoint was saved: restarted from the first row")
            else:
                try:
                    saved = csvio.load_checkpoint(state_path)
                except (OSError, ValueError) as exc:
                    raise ResumeError(
                        f"{state_path} is unreadable ({exc}); rerun with --overwrite to start over"
                    ) from exc
                _check_resume(saved, state, state_path)
                offset = int(saved["offset"])
                if partial.stat().st_size < offset:
                    raise ResumeError(
                        f"{partial} is shorter than its checkpoint says ({offset} bytes): it was "
                        "changed by hand; rerun with --overwrite to start over"
                    )
                skip = int(saved["rows_done"])
                counts = Counter(saved.get("label_counts", {}))
                errors, warnings = int(saved.get("errors", 0)), int(saved.get("warnings", 0))
                filtered, below = int(saved.get("filtered_out", 0)), int(saved.get("below", 0))
        if skip == 0:  # a fresh start (with overwrite, or a resume that cannot continue)
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
        writer = RowWriter(f, fmt, columns, _column_types(columns))
        if not skip:
            writer.write_header()
        done = skip

        def commit() -> None:
            if partial is None:
                f.flush()
                return
            csvio.fsync(f)
            if state:
                state.update(
                    rows_done=done,
                    offset=f.tell(),
                    errors=errors,
                    warnings=warnings,
                    filtered_out=filtered,
                    below=below,
                    label_counts=dict(sorted(counts.items())),
                )
                csvio.save_checkpoint(state_path, state)  # type: ignore[arg-type]

        commit()
        skipped = reader.skip(skip)
        if skipped < skip:
            raise ResumeError(
                f"the input has {skipped} rows but the checkpoint says {skip} were done"
            )
        labeller = _Labeller(clf, top_k, evidence=evidence, min_confidence=min_confidence)
        try:
            for chunk, consumed in _chunks(reader, batch_size, prepare, keep):
                writer.write([row.cells + v for row, v in zip(chunk, labeller.values(chunk))])
                for row in chunk:
                    if row.label is not None:
                        counts[row.label] += 1
                    errors += row.label is None
                    warnings += row.label is not None and row.warning is not None
                    below += row.below_threshold is not None
                filtered += consumed - len(chunk)
                done += consumed
                commit()
                if progress is not None:
                    progress(done, total)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if partial is not None:
            csvio.fsync(f)

    written = done - filtered
    if partial is not None and out_path is not None:
        written = _count_output_rows(partial, fmt)
        if written != done - filtered:
            raise RowCountError(
                f"read {done - filtered} rows but {partial} holds {written}; it was kept for "
                "inspection"
            )
        os.replace(partial, out_path)
        if state_path is not None and state_path.exists():
            state_path.unlink()
    if min_confidence is not None:
        notes.append(
            f"--min-confidence {min_confidence:g}: {below:,} rows whose best role was below it "
            "were labelled Other (column role_below_threshold keeps that role)"
        )
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
        filtered_out=filtered,
        min_confidence=min_confidence,
        below_min_confidence=below,
        delimiter=reader.delimiter,
    )
