"""CSV uploads: :func:`~role_classifier.labelling.label_csv` on a temp file, with progress to poll.

Why a job and not one long request: a 50 MB file takes many minutes on a CPU, longer than a
browser or proxy keeps a request open, and the page wants a progress bar. So an upload starts a
short-lived job (its own temp folder, its own thread) and answers at once; the page polls
``GET /v1/label-csv/{id}`` and downloads the result, which deletes the job. The jobs are the
only state the server keeps, and it is bounded: at most ``max_running`` at a time, a finished
job is deleted after download or ``ttl_s``, and everything is deleted at shutdown.

The model is shared with the single-ad batcher; the lock its encoder holds around every forward
pass (:meth:`~role_classifier.encoders.base.Encoder.use_lock`, set by :class:`~.state.ServeState`)
makes their passes take turns.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..labelling import LabelCsvError, LabelOptions, label_csv
from ..modeling.model import RoleClassifier

__all__ = ["PAGE_FIELDS", "CsvJob", "CsvJobs", "TooManyJobsError", "page_words"]

NOT_UTF8_WARNING = (
    "the file is not valid UTF-8: lines that are not were decoded like label-csv does "
    "(Windows-1252, Latin-1 or with U+FFFD) and their rows say so in the error column"
)


PAGE_FIELDS = {
    "--delimiter": "the Delimiter field",
    "--text-column": "the Text column field",
    "--title-column": "the Title column field",
    "--all-scores": "the probability-column box",
}
"""The label-csv options the page and ``POST /v1/label-csv`` have a field for, as the page names
them; a note or error of ``label_csv`` that names one of them is told in these words."""


def page_words(message: str) -> str:
    """``message`` with the command-line options named as the page's fields (:data:`PAGE_FIELDS`).

    Example:
        >>> page_words("read as ';'-separated (sniffed from the header; --delimiter sets it)")
        "read as ';'-separated (sniffed from the header; the Delimiter field sets it)"
    """
    for flag, field_name in PAGE_FIELDS.items():
        message = message.replace(flag, field_name)
    return message


class TooManyJobsError(RuntimeError):
    """As many CSV jobs are running as allowed; the caller should answer 429."""


class _Cancelled(Exception):
    """Raised from the progress callback to stop a job (shutdown)."""


@dataclass
class CsvJob:
    """One upload being labelled."""

    id: str
    folder: Path
    filename: str
    state: str = "running"
    """running, done or failed."""
    rows_done: int = 0
    rows_total: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    shares: dict[str, Any] | None = None
    """the file's role shares (:func:`role_classifier.shares.shares_table`), once done."""
    finished_at: float | None = None
    started: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def input(self) -> Path:
        """The uploaded file."""
        return self.folder / "input.csv"

    @property
    def output(self) -> Path:
        """The labelled file (complete once ``state`` is done)."""
        return self.folder / "labelled.csv"

    @property
    def shares_plot(self) -> Path:
        """The picture of the file's role shares."""
        return self.folder / "shares.png"

    @property
    def download_name(self) -> str:
        """The file name offered to the browser."""
        stem = Path(self.filename).stem or "postings"
        return f"{stem}-labelled.csv"

    def to_dict(self) -> dict[str, Any]:
        """The job as ``GET /v1/label-csv/{id}`` shows it."""
        return {
            "id": self.id,
            "state": self.state,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "error": self.error,
            "warnings": self.warnings,
            "summary": self.summary,
            "shares": self.shares,
            "shares_plot_url": f"/v1/label-csv/{self.id}/shares.png" if self.shares else None,
            "status_url": f"/v1/label-csv/{self.id}",
            "download_url": f"/v1/label-csv/{self.id}/download" if self.state == "done" else None,
        }


def save_upload(src: IO[bytes], dest: Path, chunk: int = 1 << 20) -> bool:
    """Copy an upload to ``dest``; True when all of it is valid UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    with open(dest, "wb") as out:
        while block := src.read(chunk):
            out.write(block)
            if valid:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    valid = False
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    return valid


class CsvJobs:
    """The CSV jobs of one server: start, look up, finish, clean up.

    Args:
        model: the served classifier, shared with the batcher (its encoder holds the lock).
        workers: threads for the model, as ``--workers``.
        max_running: jobs labelling at the same time at most.
        ttl_s: a finished job not downloaded within this many seconds is deleted.
    """

    def __init__(
        self,
        model: RoleClassifier,
        workers: int | None = None,
        max_running: int = 2,
        ttl_s: float = 900.0,
        batch_size: int = 32,
    ) -> None:
        self.model = model
        self.workers = workers
        self.max_running = max_running
        self.ttl_s = ttl_s
        self.batch_size = batch_size
        self._jobs: dict[str, CsvJob] = {}
        self._guard = threading.Lock()
        self._root = Path(tempfile.mkdtemp(prefix="role-classifier-serve-"))

    def start(
        self,
        upload: IO[bytes],
        filename: str,
        options: LabelOptions,
        wait_s: float = 60.0,
    ) -> CsvJob:
        """Save the upload, start labelling it, and return once it has started (or failed).

        Raises:
            TooManyJobsError: ``max_running`` jobs are running.
            LabelCsvError: the file cannot be labelled as asked (missing column, empty file...);
                the job is deleted.
        """
        self.reap()
        with self._guard:
            if sum(j.state == "running" for j in self._jobs.values()) >= self.max_running:
                raise TooManyJobsError(
                    f"{self.max_running} CSV files are being labelled; try again when one is done"
                )
            job_id = uuid.uuid4().hex
            job = CsvJob(job_id, self._root / job_id, filename or "postings.csv")
            job.folder.mkdir()
            self._jobs[job_id] = job
        try:
            if not save_upload(upload, job.input):
                job.warnings.append(NOT_UTF8_WARNING)
            job.thread = threading.Thread(
                target=self._run,
                args=(
                    job,
                    options.replace(batch_size=self.batch_size, output_format="csv"),
                ),
                name=f"label-csv-{job_id[:8]}",
                daemon=True,
            )
            job.thread.start()
        except BaseException:
            self.remove(job_id)
            raise
        job.started.wait(wait_s)
        if job.state == "failed":
            message = job.error or "labelling failed"
            self.remove(job_id)
            raise LabelCsvError(message)
        return job

    def _run(self, job: CsvJob, options: LabelOptions) -> None:
        def progress(done: int, total: int | None) -> None:
            if job.cancel.is_set():
                raise _Cancelled
            job.rows_done, job.rows_total = done, total
            job.started.set()

        try:
            summary = label_csv(
                job.input,
                job.output,
                options,
                model=self.model,
                workers=self.workers,
                progress=progress,
            )
            job.summary = {
                "rows": summary.rows,
                "errors": summary.errors,
                "warnings": summary.warnings,
                "label_counts": summary.label_counts,
                "to_review": summary.to_review,
                "seconds": round(summary.seconds, 2),
                "columns": summary.columns,
            }
            job.shares = self._shares(job, options) if options.all_scores else None
            job.warnings.extend(page_words(note) for note in summary.notes)
            job.rows_done = summary.rows
            job.state = "done"
        except _Cancelled:
            job.state, job.error = "failed", "cancelled: the server is shutting down"
        except LabelCsvError as exc:
            job.state, job.error = "failed", page_words(str(exc))
        except Exception as exc:  # a job's failure is the job's, never the server's
            job.state, job.error = "failed", f"labelling failed: {type(exc).__name__}: {exc}"
        finally:
            job.finished_at = time.monotonic()
            job.started.set()
            job.input.unlink(missing_ok=True)

    def _shares(self, job: CsvJob, options: LabelOptions) -> dict[str, Any] | None:
        """The labelled file's role shares, and their picture when matplotlib is there; a
        failure is a warning of the job, never its end."""
        from ..shares import plot_shares, role_shares, shares_table

        try:
            df = role_shares(
                job.output, title_column=options.title_column, held_out=self.model.held_out
            )
            table = shares_table(df)
        except Exception as exc:  # e.g. no row could be classified
            job.warnings.append(f"no role shares: {exc}")
            return None
        try:
            plot_shares(df, job.shares_plot)
        except Exception as exc:  # matplotlib missing (the report extra)
            job.warnings.append(f"no role-shares picture: {exc}")
        return table

    def get(self, job_id: str) -> CsvJob | None:
        """The job, or None when unknown (never started, downloaded, or expired)."""
        self.reap()
        with self._guard:
            return self._jobs.get(job_id)

    def remove(self, job_id: str) -> None:
        """Delete a job and its files (after its download, or when it failed to start)."""
        with self._guard:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            job.cancel.set()
            shutil.rmtree(job.folder, ignore_errors=True)

    def reap(self, now: Callable[[], float] = time.monotonic) -> None:
        """Delete finished jobs older than ``ttl_s``."""
        t = now()
        with self._guard:
            old = [
                k
                for k, j in self._jobs.items()
                if j.finished_at is not None and t - j.finished_at > self.ttl_s
            ]
        for job_id in old:
            self.remove(job_id)

    def close(self, wait_s: float = 10.0) -> None:
        """Stop running jobs (at their next chunk) and delete every file."""
        with self._guard:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(wait_s)
        with self._guard:
            self._jobs.clear()
        shutil.rmtree(self._root, ignore_errors=True)
