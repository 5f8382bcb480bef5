"""Label a file of job postings in this process: streaming, resumable, never dropping a row.

:func:`label_csv` reads the input in chunks of ``batch_size`` records, classifies each chunk's
valid rows in one batched pass and appends the chunk to the output, so memory stays flat however
long the file is. Reading is :func:`role_classifier.io.open_input`'s: CSV as
:mod:`role_classifier.io` reads it (the same as ``train`` and ``evaluate``), JSON lines,
Parquet, Excel and gzip into the same records. Every input record that passes the filters
becomes one output row, in input order, with all its cells; bad rows get an ``error``; mistakes
are found before the model loads (:func:`.checkpoint.check_paths`); the output resumes from its
last checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import io as fileio
from ..modeling.model import RoleClassifier
from ..progress import ProgressCallback
from ..threads import thread_limits
from .checkpoint import Checkpoint, check_paths, model_fingerprint
from .errors import InputFormatError, NoMatchError, ResumeError
from .options import LabelOptions, check_header, column_types
from .provenance import write_meta
from .rows import Labeller, chunks
from .summary import LabelSummary, min_confidence_note

__all__ = ["ModelSpec", "ProgressCallback", "count_records", "label_csv", "resolve_model"]

ModelSpec = str | Path | RoleClassifier | Callable[[], RoleClassifier]


def label_csv(
    input: str | Path,
    output: str | Path,
    options: LabelOptions | None = None,
    *,
    model: ModelSpec = "default",
    resume: bool = False,
    overwrite: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    **fields: Any,
) -> LabelSummary:
    """Label every row of a file of postings with its predicted role, streaming.

    Args:
        input: a CSV (TSV) file with a header, JSON lines (``.jsonl``, ``.ndjson``), Parquet
            (``.parquet``) or Excel (``.xlsx``, the ``excel`` extra), by suffix; ``.csv.gz``
            and ``.jsonl.gz`` are read as they are decompressed (:mod:`role_classifier.io`); or ``"-"``
            for a CSV on standard input.
        output: a ``.csv``, ``.tsv``, ``.jsonl`` (``.ndjson``), ``.parquet`` (``.pq``) or
            ``.xlsx`` file, or ``"-"`` for standard output (CSV, TSV or JSON lines).
        options: what to read and add (:class:`LabelOptions`); or give its fields as keywords
            (``text_column="description"``, ``top_k=3``, ...).
        model: a :class:`RoleClassifier`, what :meth:`RoleClassifier.from_pretrained` loads, or
            a function returning one (called after the input and output are checked).
        resume: continue an interrupted run from its ``OUTPUT.partial``.
        overwrite: replace an existing OUTPUT, or discard a partial output left by an
            interrupted run and start over.
        workers: threads for the model (one per core when None; see :mod:`.threads`).
        progress: ``progress(rows_done, total_rows)`` after each saved chunk; quiet when None.

    Returns:
        a :class:`LabelSummary`; ``rows_written == rows - filtered_out`` is checked before it
        returns.

    Raises:
        LabelCsvError: with a message saying what to do (a missing column, a bad OUTPUT, a
            leftover partial run, ...), raised before the model is loaded or anything is written;
            :class:`InputFormatError` also for an input found corrupt half-way (a truncated
            ``.gz``): the rows before it are in ``OUTPUT.partial``.
        MissingExtraError: an ``.xlsx`` input or output without openpyxl.

    Example:
        >>> s = label_csv("jobs.csv", "labelled.csv", text_column="description",
        ...               title_column="title", model="zero-shot")  # doctest: +SKIP
        >>> s.rows, s.errors, s.label_counts["AI Engineer"]  # doctest: +SKIP
        (1200, 3, 210)
    """
    started = time.perf_counter()
    if options is None:
        options = LabelOptions(**fields)
    elif fields:
        raise TypeError(f"give options or its fields, not both: {sorted(fields)}")
    fmt = check_paths(input, output, options, resume=resume, overwrite=overwrite)
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    try:
        with (
            fileio.open_input(input, delimiter=options.delimiter) as reader,
            thread_limits(workers),
        ):
            return _run(reader, in_path, out_path, fmt, options, model, resume, progress, started)
    except fileio.CsvInputError as exc:
        raise InputFormatError(str(exc)) from None


def _run(
    reader: fileio.RecordReader,
    in_path: Path | None,
    out_path: Path | None,
    fmt: str,
    options: LabelOptions,
    model: ModelSpec,
    resume: bool,
    progress: ProgressCallback | None,
    started: float,
) -> LabelSummary:
    """Open the checkpoint, stream chunks, write, commit, finish."""
    header, notes = reader.header, _reader_notes(reader)
    check_header(header, options)
    clf = resolve_model(model)
    added = options.columns(clf.labels)
    columns = header + added
    check_header(header, options, clf.labels)  # the score columns, now that labels are known
    types = ["value"] * len(header) + column_types(added)  # input cells as they were read
    arrow_types = reader.arrow_types + [None] * len(added) if reader.arrow_types else None
    identity = {
        **options.fingerprint(),
        "format": fmt,
        "model": model_fingerprint(clf),
        "delimiter": reader.delimiter,
    }
    checkpoint = Checkpoint.open(out_path, in_path, fmt, identity, resume)
    tally = checkpoint.tally
    total = _total(reader, in_path, progress, tally.rows_done)
    labeller, keep = Labeller(clf, options), fileio.RowFilter(header, options.filters)
    with checkpoint.writer(columns, types, arrow_types, bom=options.bom) as writer:
        skipped = reader.skip(tally.rows_done)
        if skipped < tally.rows_done:
            raise ResumeError(
                f"the input has {skipped} rows but the checkpoint says {tally.rows_done} were done"
            )
        for chunk, consumed in chunks(reader, header, options, keep):
            writer.write([row.cells + v for row, v in zip(chunk, labeller.values(chunk))])
            tally.add(chunk, consumed)
            checkpoint.commit()
            if progress is not None:
                progress(tally.rows_done, total)
    if keep.filters and not keep.matched and tally.rows_done and not checkpoint.resumed_from:
        checkpoint.discard()
        raise NoMatchError(
            f"--filter {keep.describe()} matches no row of the {tally.rows_done:,} read "
            f"({keep.describe_seen()}); nothing was written"
        )
    written = checkpoint.finish()
    if out_path is not None:
        write_meta(out_path, clf, options, identity["model"])
    return _summary(checkpoint, options, notes, written, columns, out_path, started, reader)


def resolve_model(model: ModelSpec) -> RoleClassifier:
    """The classifier a job uses, loaded (with its backbone) before the first chunk is timed."""
    if isinstance(model, RoleClassifier):
        clf = model
    elif callable(model):
        clf = model()
    else:
        clf = RoleClassifier.from_pretrained(model)
    clf.encoder  # load the backbone now, not inside the first chunk's timing  # noqa: B018
    return clf


def _reader_notes(reader: fileio.RecordReader) -> list[str]:
    notes = list(reader.header_notes)
    if reader.sniffed and reader.delimiter != ",":
        notes.append(
            f"read as {fileio.delimiter_name(reader.delimiter)}-separated (sniffed from the "
            "header; --delimiter sets it)"
        )
    return notes


def _total(
    reader: fileio.RecordReader,
    in_path: Path | None,
    progress: ProgressCallback | None,
    done: int,
) -> int | None:
    """The progress bar's total (counted only when there is a bar and the reader does not know
    it), shown at the resume point."""
    if progress is None:
        return None
    total = reader.total
    if total is None and in_path is not None:
        total = fileio.count_rows(in_path)
    progress(done, total)
    return total


def _summary(
    checkpoint: Checkpoint,
    options: LabelOptions,
    notes: list[str],
    written: int,
    columns: list[str],
    out_path: Path | None,
    started: float,
    reader: fileio.RecordReader,
) -> LabelSummary:
    tally = checkpoint.tally
    notes = notes + checkpoint.notes
    if options.min_confidence is not None:
        notes.append(min_confidence_note(options.min_confidence, tally.below))
    return LabelSummary(
        rows=tally.rows_done,
        rows_written=written,
        errors=tally.errors,
        warnings=tally.warnings,
        label_counts=dict(tally.label_counts.most_common()),
        seconds=time.perf_counter() - started,
        resumed_from=checkpoint.resumed_from,
        output=str(out_path) if out_path is not None else "-",
        columns=columns,
        notes=notes,
        filtered_out=tally.filtered_out,
        min_confidence=options.min_confidence,
        below_min_confidence=tally.below,
        delimiter=reader.delimiter,
        to_review=tally.to_review,
    )


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
    with open(path, "rb") as f:
        return fileio.count_lines(f)
