"""Where a local job writes, and how it resumes: ``OUTPUT.partial`` and its checkpoint.

File outputs are written to ``OUTPUT.partial``; after each chunk is flushed and fsynced,
``OUTPUT.partial.json`` records the rows done, the tally so far and the byte length of the
partial output. A rerun with ``resume=True`` truncates the partial output to that length, skips
that many input records and goes on, so the finished file is byte-identical to an
uninterrupted run (a ``.gz`` output too: every chunk is its own gzip member). Parquet cannot be appended to, so there ``OUTPUT.partial`` is a folder of
part files, one per chunk (:class:`.fileio.ParquetParts`): the checkpoint records how many, a
resumed run drops any later one, and :meth:`Checkpoint.finish` joins them into OUTPUT. Excel
output is written at the end and cannot resume (a resumed run starts over, with a note).
:func:`check_paths` refuses every mistake before any work is done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import io as fileio
from .._extras import require_extra
from ..modeling.model import RoleClassifier
from .errors import (
    InputFormatError,
    OutputError,
    OutputExistsError,
    OutputIsInputError,
    ResumeError,
    RowCountError,
)
from .options import LabelOptions
from .rows import Row

__all__ = [
    "Checkpoint",
    "Tally",
    "can_resume",
    "check_paths",
    "leftover_paths",
    "model_fingerprint",
]

STATE_VERSION = 2
PARTIAL_SUFFIX = ".partial"
STATE_SUFFIX = ".partial.json"


def check_paths(
    input: str | Path,
    output: str | Path,
    options: LabelOptions,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> str:
    """Check INPUT, OUTPUT and the resume options before any work; returns the output format.

    Raises:
        InputFormatError: INPUT is not a file, or its suffix names a format that cannot be read
            (``.xls``, ``.zip``).
        OutputIsInputError: OUTPUT is INPUT.
        OutputError: OUTPUT is a directory, its folder does not exist, or its extension names
            no format (without ``output_format``); parquet or Excel to standard output;
            ``bom`` with an output that is not CSV or TSV.
        MissingExtraError: Excel input or output without openpyxl.
        OutputExistsError: OUTPUT exists (a finished run) and ``overwrite`` is not given.
        ResumeError: a partial run is left over and neither ``resume`` nor ``overwrite`` is
            given; ``resume`` with nothing to resume, with standard input or output, or
            together with ``overwrite``.

    Example:
        >>> check_paths("jobs.csv", "labelled.txt", LabelOptions("text"))  # doctest: +SKIP
        Traceback (most recent call last):
        OutputError: OUTPUT labelled.txt has extension '.txt': name it with one of .csv, ...
    """
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    try:
        if out_path is not None:
            fileio.check_output_path(out_path)
        fmt = fileio.output_format_for(output, options.output_format)
    except fileio.OutputPathError as exc:
        raise OutputError(str(exc)) from None
    if options.bom and fmt not in ("csv", "tsv"):
        raise OutputError(f"--bom is for CSV and TSV output; {fmt} output has no BOM")
    if resume and overwrite:
        raise ResumeError(
            "--resume continues an interrupted run and --overwrite discards it: pass only one"
        )
    if out_path is None and fmt in ("parquet", "xlsx"):
        raise OutputError(f"{fmt} cannot be written to standard output: give a file name")
    if out_path is None and resume:
        raise ResumeError("--resume needs an output file: standard output cannot be resumed")
    if in_path is not None:
        _check_input(in_path, out_path)
    elif resume:
        raise ResumeError("--resume needs INPUT to be a file: standard input cannot be re-read")
    if fmt == "xlsx":
        require_extra("openpyxl", "label-csv with an .xlsx OUTPUT")
    if out_path is not None:
        _check_leftovers(out_path, in_path, resume, overwrite)
    return fmt


def _check_input(in_path: Path, out_path: Path | None) -> None:
    if not in_path.is_file():
        what = "a directory" if in_path.is_dir() else "no such file"
        raise InputFormatError(
            f"INPUT {in_path}: {what}; give a CSV, TSV, JSON lines, Parquet or Excel file "
            "(.gz for compressed CSV or JSON lines), or '-' for a CSV on stdin"
        )
    try:
        fmt, _ = fileio.input_format(in_path)
    except fileio.CsvInputError as exc:
        raise InputFormatError(str(exc)) from None
    if fmt == "xlsx":
        require_extra("openpyxl", "label-csv with an .xlsx INPUT")
    if out_path is not None and _same_file(in_path, out_path):
        raise OutputIsInputError(
            f"OUTPUT is the input file {in_path}: write to a new file (the input is never "
            "overwritten)"
        )


def can_resume(input: str | Path, output: str | Path, fmt: str) -> bool:
    """Whether an interrupted run from INPUT to OUTPUT in ``fmt`` can be resumed: both are
    files and the output is not Excel.

    Example:
        >>> can_resume("jobs.csv", "out.parquet", "parquet"), can_resume("-", "o.csv", "csv")
        (True, False)
    """
    return "-" not in (str(input), str(output)) and fmt != "xlsx"


def _check_leftovers(out_path: Path, in_path: Path | None, resume: bool, overwrite: bool) -> None:
    partial, state = leftover_paths(out_path)
    leftovers = [p for p in (partial, state) if p.exists()]
    if leftovers and not (resume or overwrite):
        newest = max(leftovers, key=lambda p: p.stat().st_mtime)
        done = ""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            done = f", {int(fileio.load_checkpoint(state)['rows_done']):,} rows done"
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
    if out_path.exists() and not (leftovers or resume or overwrite):
        raise OutputExistsError(
            f"OUTPUT {out_path} exists (a finished run, last written {_when(out_path)}): "
            "rerun with --overwrite to replace it, or write to a new file"
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


def leftover_paths(out_path: Path) -> tuple[Path, Path]:
    """``OUTPUT.partial`` and ``OUTPUT.partial.json``."""
    return (
        out_path.with_name(out_path.name + PARTIAL_SUFFIX),
        out_path.with_name(out_path.name + STATE_SUFFIX),
    )


def _when(path: Path) -> str:
    """When a file was last written, local time, to the second."""
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def model_fingerprint(clf: RoleClassifier) -> str:
    """A short hash of what decides the predictions: config, taxonomy and head weights."""
    h = hashlib.sha256()
    meta = {"config": dataclasses.asdict(clf.config), "taxonomy": clf.taxonomy.to_dict()}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for key in sorted(clf.head or {}):
        h.update(key.encode())
        h.update(np.ascontiguousarray(clf.head[key]).tobytes())  # type: ignore[index]
    return h.hexdigest()[:16]


@dataclass
class Tally:
    """What a job has done so far; saved in the checkpoint, summed into the summary."""

    rows_done: int = 0
    errors: int = 0
    warnings: int = 0
    filtered_out: int = 0
    below: int = 0
    label_counts: Counter[str] = field(default_factory=Counter)
    to_review: int = 0

    def add(self, chunk: list[Row], consumed: int) -> None:
        """Count one written chunk that consumed ``consumed`` input records."""
        for row in chunk:
            if row.label is not None:
                self.label_counts[row.label] += 1
            self.errors += row.label is None
            self.warnings += row.label is not None and row.warning is not None
            self.below += row.below_threshold is not None
            self.to_review += row.review == "review" and row.label is not None
        self.filtered_out += consumed - len(chunk)
        self.rows_done += consumed

    def to_state(self) -> dict[str, Any]:
        return {
            "rows_done": self.rows_done,
            "errors": self.errors,
            "warnings": self.warnings,
            "filtered_out": self.filtered_out,
            "below": self.below,
            "label_counts": dict(sorted(self.label_counts.items())),
            "to_review": self.to_review,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Tally:
        return cls(
            int(state["rows_done"]),
            int(state.get("errors", 0)),
            int(state.get("warnings", 0)),
            int(state.get("filtered_out", 0)),
            int(state.get("below", 0)),
            Counter(state.get("label_counts", {})),
            int(state.get("to_review", 0)),
        )


class Checkpoint:
    """The output of a local job: ``OUTPUT.partial`` (or standard output) and its saved state.

    :meth:`open` resumes or starts over; :meth:`writer` opens the output at the resume point;
    :meth:`commit` makes a written chunk durable; :meth:`finish` checks the row count and
    renames the partial file to OUTPUT (parquet: joins the part files into OUTPUT).
    """

    def __init__(self, out_path: Path | None, fmt: str, state: dict[str, Any]) -> None:
        self.out_path, self.fmt, self.state = out_path, fmt, state
        self.partial, self.state_path = leftover_paths(out_path) if out_path else (None, None)
        self.tally, self.offset, self.parts, self.notes = Tally(), 0, 0, []
        self.resumed_from = 0
        self._file: IO[bytes] | None = None
        self._parts: fileio.ParquetParts | None = None
        self.gzipped = out_path is not None and fileio.output_gzipped(out_path)

    @classmethod
    def open(
        cls,
        out_path: Path | None,
        in_path: Path | None,
        fmt: str,
        identity: dict[str, Any],
        resume: bool,
    ) -> Checkpoint:
        """The checkpoint of this run: resumed from a saved one when ``resume``, else fresh
        (a leftover partial output is then removed). ``identity`` is what a resumed run must
        share with the interrupted one (options, model, delimiter)."""
        resumable = out_path is not None and in_path is not None and fmt != "xlsx"
        state = (
            {"version": STATE_VERSION, "input": fileio.input_identity(in_path), "options": identity}
            if resumable
            else {}
        )
        cp = cls(out_path, fmt, state)
        if cp.partial is None or cp.state_path is None:
            return cp
        leftovers = [p for p in (cp.partial, cp.state_path) if p.exists()]
        if leftovers and resume:
            if fmt == "xlsx":
                cp.notes.append(
                    "xlsx output cannot be resumed: restarted from the first row (write .csv "
                    "or .parquet for a run that can resume)"
                )
            elif not cp.state_path.exists() or not cp.partial.exists():
                cp.notes.append("no complete checkpoint was saved: restarted from the first row")
            else:
                cp._resume()
        if cp.tally.rows_done == 0:  # a fresh start (overwrite, or a resume that cannot go on)
            for p in leftovers:
                _remove(p)
        return cp

    def _resume(self) -> None:
        assert self.partial is not None and self.state_path is not None
        try:
            saved = fileio.load_checkpoint(self.state_path)
        except (OSError, ValueError) as exc:
            raise ResumeError(
                f"{self.state_path} is unreadable ({exc}); rerun with --overwrite to start over"
            ) from exc
        _check_resume(saved, self.state, self.state_path)
        changed = "it was changed by hand; rerun with --overwrite to start over"
        if self.fmt == "parquet":
            if "parts" not in saved or not self.partial.is_dir():
                raise ResumeError(
                    f"{self.partial} is not the folder of parts its checkpoint says: {changed}"
                )
            self.parts = int(saved["parts"])
        else:
            self.offset = int(saved["offset"])
            if not self.partial.is_file() or self.partial.stat().st_size < self.offset:
                raise ResumeError(
                    f"{self.partial} is shorter than its checkpoint says ({self.offset} bytes): "
                    + changed
                )
        self.tally = Tally.from_state(saved)
        self.resumed_from = self.tally.rows_done

    @contextlib.contextmanager
    def writer(
        self,
        columns: list[str],
        types: list[str],
        arrow_types: list[Any] | None = None,
        *,
        bom: bool = False,
    ) -> Iterator[fileio.RowWriter | fileio.ParquetParts]:
        """The output's writer, at the resume point; the header is written on a fresh start.

        Args:
            columns: the output header.
            types: per column, as :class:`.fileio.RowWriter` takes them (``value`` for input
                columns).
            arrow_types: per column, a pyarrow type to keep in parquet output, or None.
            bom: start a CSV or TSV output with a UTF-8 BOM (only on a fresh start).
        """
        if self.fmt == "parquet" and self.partial is not None:
            self._parts = fileio.ParquetParts(self.partial, columns, types, arrow_types)
            try:
                self._parts.open(self.parts if self.tally.rows_done else 0)
            except FileNotFoundError as exc:
                raise ResumeError(
                    f"{exc}: it was changed by hand; rerun with --overwrite to start over"
                ) from None
            self.commit()
            yield self._parts
            return
        with contextlib.ExitStack() as stack:
            if self.partial is None:
                sys.stdout.flush()
                self._file = sys.stdout.buffer
            elif self.tally.rows_done:
                self._file = stack.enter_context(open(self.partial, "r+b"))
                self._file.truncate(self.offset)
                self._file.seek(self.offset)
            else:
                self._file = stack.enter_context(open(self.partial, "wb"))
            writer = fileio.RowWriter(
                self._file,
                self.fmt,
                columns,
                types,
                arrow_types=arrow_types,
                bom=bom,
                gzipped=self.gzipped,
            )
            if not self.tally.rows_done:
                writer.write_header()
            self.commit()
            try:
                yield writer
            except BaseException:
                writer.abort()
                raise
            writer.close()
            self.notes += writer.notes
            if self.partial is not None:
                fileio.fsync(self._file)

    def commit(self) -> None:
        """Make what was written durable and record the tally (a no-op for standard output)."""
        if self._parts is None:
            assert self._file is not None
            if self.partial is None:
                self._file.flush()
                return
            fileio.fsync(self._file)
        if self.state:
            where = (
                {"parts": self._parts.parts}
                if self._parts is not None
                else {"offset": self._file.tell()}  # type: ignore[union-attr]
            )
            self.state.update(**where, **self.tally.to_state())
            fileio.save_checkpoint(self.state_path, self.state)  # type: ignore[arg-type]

    def finish(self) -> int:
        """Check the finished output holds one row per kept record, rename it to OUTPUT (join
        the parquet parts into it) and drop the checkpoint; returns the rows written."""
        expected = self.tally.rows_done - self.tally.filtered_out
        if self.partial is None or self.out_path is None:
            return expected
        done = self.partial
        if self._parts is not None:
            done = self.partial / "joined.parquet"
            self._parts.join(done)
        written = fileio.count_output_rows(done, self.fmt)
        if written != expected:
            raise RowCountError(
                f"read {expected} rows but {done} holds {written}; it was kept for inspection"
            )
        os.replace(done, self.out_path)
        if self._parts is not None:
            shutil.rmtree(self.partial)
        if self.state_path is not None and self.state_path.exists():
            self.state_path.unlink()
        return written

    def discard(self) -> None:
        """Remove the partial output and its checkpoint (a run that must not leave a file)."""
        for path in (self.partial, self.state_path):
            if path is not None and path.exists():
                _remove(path)


def _remove(path: Path) -> None:
    """Remove a leftover partial output: a file, or a folder of parquet parts."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


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
