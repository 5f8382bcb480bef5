"""Where a local job writes, and how it resumes: ``OUTPUT.partial`` and its checkpoint.

File outputs are written to ``OUTPUT.partial``; after each chunk is flushed and fsynced,
``OUTPUT.partial.json`` records the rows done, the tally so far and the byte length of the
partial output. A rerun with ``resume=True`` truncates the partial output to that length, skips
that many input records and goes on, so the finished file is byte-identical to an
uninterrupted run. :func:`check_paths` refuses every mistake before any work is done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import csvio
from ..modeling.model import RoleClassifier
from .errors import InputFormatError, OutputError, OutputIsInputError, ResumeError, RowCountError
from .options import LabelOptions, column_types
from .rows import Row

__all__ = ["Checkpoint", "Tally", "check_paths", "leftover_paths", "model_fingerprint"]

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
        InputFormatError: INPUT is not a file.
        OutputIsInputError: OUTPUT is INPUT.
        OutputError: OUTPUT is a directory, its folder does not exist, or its extension names
            no format (without ``output_format``); parquet to standard output.
        ResumeError: a partial run is left over and neither ``resume`` nor ``overwrite`` is
            given; ``resume`` with nothing to resume, with standard input or output, or
            together with ``overwrite``.

    Example:
        >>> check_paths("jobs.csv", "labelled.xlsx", LabelOptions("text"))  # doctest: +SKIP
        Traceback (most recent call last):
        OutputError: OUTPUT labelled.xlsx has extension '.xlsx': name it with one of .csv, ...
    """
    in_path = None if str(input) == "-" else Path(input)
    out_path = None if str(output) == "-" else Path(output)
    try:
        if out_path is not None:
            csvio.check_output_path(out_path)
        fmt = csvio.output_format_for(output, options.output_format)
    except csvio.OutputPathError as exc:
        raise OutputError(str(exc)) from None
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
    if out_path is not None:
        _check_leftovers(out_path, in_path, resume, overwrite)
    return fmt


def _check_leftovers(out_path: Path, in_path: Path | None, resume: bool, overwrite: bool) -> None:
    partial, state = leftover_paths(out_path)
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
    renames the partial file to OUTPUT.
    """

    def __init__(self, out_path: Path | None, fmt: str, state: dict[str, Any]) -> None:
        self.out_path, self.fmt, self.state = out_path, fmt, state
        self.partial, self.state_path = leftover_paths(out_path) if out_path else (None, None)
        self.tally, self.offset, self.notes = Tally(), 0, []
        self.resumed_from = 0
        self._file: IO[bytes] | None = None

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
        resumable = out_path is not None and in_path is not None and fmt != "parquet"
        state = (
            {"version": STATE_VERSION, "input": csvio.input_identity(in_path), "options": identity}
            if resumable
            else {}
        )
        cp = cls(out_path, fmt, state)
        if cp.partial is None or cp.state_path is None:
            return cp
        leftovers = [p for p in (cp.partial, cp.state_path) if p.exists()]
        if leftovers and resume:
            if fmt == "parquet":
                cp.notes.append("parquet output cannot be resumed: restarted from the first row")
            elif not cp.state_path.exists() or not cp.partial.exists():
                cp.notes.append("no complete checkpoint was saved: restarted from the first row")
            else:
                cp._resume()
        if cp.tally.rows_done == 0:  # a fresh start (overwrite, or a resume that cannot go on)
            for p in leftovers:
                p.unlink()
        return cp

    def _resume(self) -> None:
        assert self.partial is not None and self.state_path is not None
        try:
            saved = csvio.load_checkpoint(self.state_path)
        except (OSError, ValueError) as exc:
            raise ResumeError(
                f"{self.state_path} is unreadable ({exc}); rerun with --overwrite to start over"
            ) from exc
        _check_resume(saved, self.state, self.state_path)
        self.offset = int(saved["offset"])
        if self.partial.stat().st_size < self.offset:
            raise ResumeError(
                f"{self.partial} is shorter than its checkpoint says ({self.offset} bytes): it "
                "was changed by hand; rerun with --overwrite to start over"
            )
        self.tally = Tally.from_state(saved)
        self.resumed_from = self.tally.rows_done

    @contextlib.contextmanager
    def writer(self, columns: list[str]):  # noqa: ANN201 - a context manager of a RowWriter
        """The output's writer, at the resume point; the header is written on a fresh start."""
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
            writer = csvio.RowWriter(self._file, self.fmt, columns, column_types(columns))
            if not self.tally.rows_done:
                writer.write_header()
            self.commit()
            try:
                yield writer
            except BaseException:
                writer.abort()
                raise
            writer.close()
            if self.partial is not None:
                csvio.fsync(self._file)

    def commit(self) -> None:
        """Make what was written durable and record the tally (a no-op for standard output)."""
        assert self._file is not None
        if self.partial is None:
            self._file.flush()
            return
        csvio.fsync(self._file)
        if self.state:
            self.state.update(offset=self._file.tell(), **self.tally.to_state())
            csvio.save_checkpoint(self.state_path, self.state)  # type: ignore[arg-type]

    def finish(self) -> int:
        """Check the finished output holds one row per kept record, rename it to OUTPUT and
        drop the checkpoint; returns the rows written."""
        expected = self.tally.rows_done - self.tally.filtered_out
        if self.partial is None or self.out_path is None:
            return expected
        written = csvio.count_output_rows(self.partial, self.fmt)
        if written != expected:
            raise RowCountError(
                f"read {expected} rows but {self.partial} holds {written}; it was kept for "
                "inspection"
            )
        os.replace(self.partial, self.out_path)
        if self.state_path is not None and self.state_path.exists():
            self.state_path.unlink()
        return written


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
