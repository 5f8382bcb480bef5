"""Label postings on a Ray cluster with Ray Data: ``label-csv --engine ray``.

Install with ``pip install 'role-classifier[ray]'``. Ray is imported inside the functions here,
never when ``role_classifier`` is imported.

* **One per-row path.** :class:`RoleLabeller` is a callable class for ``ds.map_batches``: its
  ``__init__`` loads the model once per actor, its ``__call__`` adds the output columns of
  :meth:`.LabelOptions.columns` to a batch through :func:`.rows.label_records`, the function the
  local engine's rows go through too. Same model, backend and rows: same values, with a backend
  whose scores do not depend on the other postings in a batch (torch); the int8 ONNX backend's
  do, slightly (the 4th decimal), in either engine, and Ray batches rows differently.
* **Values.** The output cells are the ones ``--engine local`` writes in the same format:
  CSV/TSV all text (scores with 4 decimals, ``""`` when empty); parquet and JSON lines float
  scores and nulls where empty. Scores are rounded to 4 decimals in every format.
* **Order.** Rows are not kept in input order: Ray spreads blocks over actors and part files.
  Join on an id column.
* **Rows in = rows out.** :func:`label_dataset` counts the input rows, writes, reads the count
  back from the written part files and raises :class:`.errors.RowCountError` if they differ.
* **Faults.** Actors are restarted and their batches retried by Ray (:data:`ACTOR_OPTIONS`).
  A killed driver stops the job: Ray Data has no resume; rerun into an empty folder.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import io as fileio
from ..threads import default_workers, thread_limits
from .checkpoint import model_fingerprint
from .errors import LabelCsvError, RowCountError
from .options import LabelOptions, column_types
from .provenance import META_SUFFIX, meta_text
from .ray_files import (
    InputFile,
    check_input,
    check_output,
    count_written,
    explain_read_error,
    filesystem_of,
    input_delimiter,
    input_files,
    read_dataset,
    write_dataset,
)
from .rows import label_records
from .summary import LabelSummary, min_confidence_note

if TYPE_CHECKING:
    from ..modeling.model import RoleClassifier
    from ..taxonomy import Taxonomy

__all__ = [
    "ACTOR_OPTIONS",
    "InputFile",
    "RoleLabeller",
    "check_input",
    "input_files",
    "label_dataset",
    "output_arrays",
]

ACTOR_OPTIONS: dict[str, int] = {"max_restarts": 4, "max_task_retries": 4}
"""Ray options of the labelling actors: an actor that dies (node lost, killed, out of memory)
is restarted up to 4 times and its unfinished batches are retried up to 4 times, so a batch that
kills every actor it lands on fails the run instead of looping forever. Exceptions raised by the
model are not retried: a row that fails gets an ``error``, a broken model fails the run."""


# -- the callable class ------------------------------------------------------------------------
class RoleLabeller:
    """Adds ``predicted_role``, ``confidence``, runner-ups and ``error`` to batches of postings.

    Pass the class (not an instance) to ``map_batches``; each actor loads the model once.
    Batches may be pyarrow Tables (best: the column types are exact), pandas DataFrames or dicts
    of numpy arrays; every input column is kept and the answer has the same type.

    Args:
        model: a saved model directory (reachable on every node), ``"default"`` or ``"zero-shot"``.
        options: what to read and add (:class:`.LabelOptions`); or give its fields as keywords
            (``text_column="description"``, ``title_column="title"``, ``top_k=1``, ...).
        backend: ``"onnx"`` or ``"torch"`` (see :meth:`RoleClassifier.from_pretrained`).
        workers: threads the model uses in this actor (give the actor as many CPUs).
        taxonomy: a :class:`Taxonomy` replacing the model's (as ``--taxonomy`` does).
        output_format: shape the output cells exactly as ``label-csv`` writes them in this
            format: ``csv``/``tsv`` all text (scores with 4 decimals, ``""`` when empty);
            ``parquet``, ``jsonl`` or None (default) floats, lists and nulls.
            Scores are rounded to 4 decimals in every format, as the local engine writes them.

    Example:
        >>> import ray
        >>> from role_classifier.labelling.ray import ACTOR_OPTIONS, RoleLabeller
        >>> ds = ray.data.read_parquet("s3://bucket/postings/")  # doctest: +SKIP
        >>> ds = ds.map_batches(  # doctest: +SKIP
        ...     RoleLabeller,
        ...     fn_constructor_kwargs={"text_column": "description", "title_column": "title"},
        ...     batch_format="pyarrow", batch_size=64, num_cpus=1,
        ...     compute=ray.data.ActorPoolStrategy(size=8), **ACTOR_OPTIONS)
        >>> ds.write_parquet("s3://bucket/labelled/")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | Path = "default",
        options: LabelOptions | None = None,
        *,
        backend: str = "onnx",
        workers: int = 1,
        taxonomy: Taxonomy | None = None,
        output_format: str | None = None,
        **fields: Any,
    ) -> None:
        from ..modeling.model import RoleClassifier

        self.options = options if options is not None else LabelOptions(**fields)
        self.workers, self.output_format = workers, output_format
        self.clf: RoleClassifier = RoleClassifier.from_pretrained(
            model, taxonomy=taxonomy, backend=backend
        )
        self.columns = self.options.columns(self.clf.labels)
        with thread_limits(workers):
            self.clf.encoder  # load the backbone now, once per actor  # noqa: B018

    def __call__(self, batch: Any) -> Any:
        """Label one batch; returns it with the output columns appended."""
        opts = self.options
        names = [opts.text_column] + ([opts.title_column] if opts.title_column else [])
        cells = [_column_values(batch, name) for name in names]  # text_problem judges each
        with thread_limits(self.workers):
            values = label_records(self.clf, list(zip(*cells)), names, opts)
        arrays = output_arrays(self.columns, values, self.output_format)
        return _append(batch, self.columns, arrays)


def output_arrays(columns: list[str], values: list[list[Any]], output_format: str | None) -> list:
    """The output columns as pyarrow arrays, cells shaped as ``label-csv`` writes them in
    ``output_format`` (see :class:`RoleLabeller`).

    Example:
        >>> [a.to_pylist() for a in output_arrays(["predicted_role", "confidence", "error"],
        ...                                       [["AI Engineer", 0.81234, None]], "csv")]
        [['AI Engineer'], ['0.8123'], ['']]
    """
    import pyarrow as pa

    as_text = output_format in ("csv", "tsv")
    arrays = []
    for i, kind in enumerate(column_types(columns)):
        column = [row[i] for row in values]
        if as_text:
            arrays.append(pa.array([fileio.text_cell(v) for v in column], type=pa.string()))
        elif kind == "float":
            arrays.append(pa.array([fileio.json_number(v) for v in column], type=pa.float64()))
        elif kind == "list":
            arrays.append(pa.array(column, type=pa.list_(pa.string())))
        else:
            arrays.append(pa.array(column, type=pa.string()))
    return arrays


def _column_values(batch: Any, name: str) -> list[Any]:
    if name not in _batch_names(batch):
        raise KeyError(f"the batch has no column {name!r}; its columns: {_batch_names(batch)}")
    column = batch[name]
    if hasattr(column, "to_pylist"):  # pyarrow
        return column.to_pylist()
    return list(column)


def _batch_names(batch: Any) -> list[str]:
    if hasattr(batch, "column_names"):
        return list(batch.column_names)
    return [str(c) for c in (batch.columns if hasattr(batch, "columns") else batch.keys())]


def _append(batch: Any, names: list[str], arrays: list) -> Any:
    if hasattr(batch, "append_column"):  # pyarrow.Table
        for name, array in zip(names, arrays):
            batch = batch.append_column(name, array)
        return batch
    if hasattr(batch, "assign"):  # pandas.DataFrame: arrow-backed columns keep their types
        import pandas as pd

        return batch.assign(
            **{
                name: pd.Series(
                    array.to_pandas(types_mapper=pd.ArrowDtype).array, index=batch.index
                )
                for name, array in zip(names, arrays)
            }
        )
    out = dict(batch)
    for name, array in zip(names, arrays):
        out[name] = array.to_numpy(zero_copy_only=False)
    return out


# -- the job -----------------------------------------------------------------------------------
def label_dataset(
    input: str | Path,
    output: str | Path,
    options: LabelOptions | None = None,
    *,
    model: str | Path = "default",
    taxonomy: Taxonomy | None = None,
    backend: str = "onnx",
    workers: int = 1,
    concurrency: int | None = None,
    ray_address: str | None = None,
    progress: bool = False,
    **fields: Any,
) -> LabelSummary:
    """Label every row of a folder, file or glob of CSV, parquet or JSON lines files with Ray.

    Columns are checked on every file before Ray starts. With no Ray running and no
    ``ray_address``, a local Ray instance is started and shut down at the end; with
    ``ray_address="auto"`` (or ``ray://...``) the job joins that cluster; when Ray is already
    initialised (a script run by ``ray job submit``, a test) it is used as it is.

    Args:
        input: a file, folder or glob, local or any URI pyarrow knows (``s3://``, ``gs://``).
        output: a folder (created; must be empty) for the part files.
        options: what to read and add (:class:`.LabelOptions`; ``filters`` are local only), or
            its fields as keywords. ``output_format``: ``parquet`` (default), ``csv``, ``tsv``
            or ``jsonl``, by default from the extension of ``output`` when it names one.
        model: a saved model directory reachable from every node, ``"default"`` or
            ``"zero-shot"``.
        taxonomy: replaces the model's taxonomy, as in :meth:`RoleClassifier.from_pretrained`.
        backend: ``"onnx"`` or ``"torch"``.
        workers: threads (and Ray CPUs) per actor.
        concurrency: actors; by default as many as the cluster's CPUs allow with one CPU left
            for reading and writing (``(CPUs - 1) // workers``); more is refused. A local Ray
            instance gets one logical CPU per core plus that one.
        ray_address: the cluster to join (``"auto"``: the one running here).
        progress: show Ray Data's progress bars.

    Returns:
        a :class:`LabelSummary` (``rows == rows_written`` is checked before it returns);
        ``seconds`` counts from after Ray started (the start is in ``notes``).

    Raises:
        LabelCsvError and its subclasses, with a message saying what to do.

    Example:
        >>> s = label_dataset("postings/", "labelled/", text_column="description",
        ...                   title_column="title", concurrency=2)  # doctest: +SKIP
        >>> s.rows == s.rows_written  # doctest: +SKIP
        True
    """
    options = options if options is not None else LabelOptions(**fields)
    job = _Job.prepare(
        input,
        output,
        options,
        model=model,
        taxonomy=taxonomy,
        backend=backend,
        workers=workers,
        concurrency=concurrency,
    )
    import ray

    began = time.perf_counter()
    with _ray_running(ray, ray_address):
        job.notes.append(f"Ray ready in {time.perf_counter() - began:.1f} s (not in the rows/s)")
        started = time.perf_counter()
        ray.data.DataContext.get_current().enable_progress_bars = progress
        rows = job.label(ray)
        tally = count_written(job.out_fs, job.out_path, job.fmt, options.min_confidence is not None)
    summary = job.summary(rows, tally, started)
    with job.out_fs.open_output_stream(job.out_path.rstrip("/") + META_SUFFIX) as f:
        f.write(job.meta.encode("utf-8"))  # which model labelled the folder, next to it
    return summary


@contextlib.contextmanager
def _ray_running(ray: Any, address: str | None) -> Iterator[None]:
    """Ray as it is when already initialised; else a local instance (this machine's cores for
    the actors, one more logical CPU for reads and writes) or the cluster at ``address``,
    shut down at the end."""
    own = not ray.is_initialized()
    if own:
        init: dict[str, Any] = {"include_dashboard": False}
        if address:
            init["address"] = address
        else:
            init["num_cpus"] = default_workers() + 1
        ray.init(**init)
    try:
        yield
    finally:
        if own:
            ray.shutdown()


@dataclass(frozen=True)
class _Job:
    """One ``label_dataset`` run, checked before Ray starts: the input files and their
    columns, the output folder and format, and what every actor is built with."""

    output: str
    options: LabelOptions
    fmt: str
    labels: list[str]
    filesystem: Any
    files: list[InputFile]
    names: list[str]
    delimiter: str
    notes: list[str]
    out_fs: Any
    out_path: str
    actor_args: dict[str, Any]
    workers: int
    concurrency: int | None
    meta: str

    @classmethod
    def prepare(
        cls,
        input: str | Path,
        output: str | Path,
        options: LabelOptions,
        *,
        model: str | Path,
        taxonomy: Taxonomy | None,
        backend: str,
        workers: int,
        concurrency: int | None,
    ) -> _Job:
        """Check the arguments, the model, every input file's columns and the output folder."""
        fmt = _output_format(output, options, workers, concurrency)
        from ..modeling.model import RoleClassifier

        if str(model) not in ("default", "zero-shot") and Path(model).exists():
            model = Path(model).resolve()  # actors do not share the driver's working directory
        clf = RoleClassifier.from_pretrained(model, taxonomy=taxonomy, backend=backend)
        labels = clf.labels
        filesystem, files, names, notes = check_input(input, options, labels)
        delimiter = input_delimiter(filesystem, files, options)
        out_fs, out_path = filesystem_of(str(output))
        check_output(out_fs, out_path, str(output))
        actor_args = {
            "model": str(model),
            "options": options,
            "backend": backend,
            "workers": workers,
            "taxonomy": taxonomy,
            "output_format": fmt,
        }
        return cls(
            output=str(output),
            options=options,
            fmt=fmt,
            labels=labels,
            filesystem=filesystem,
            files=files,
            names=names,
            delimiter=delimiter,
            notes=notes,
            out_fs=out_fs,
            out_path=out_path,
            actor_args=actor_args,
            workers=workers,
            concurrency=concurrency,
            meta=meta_text(clf, options, model_fingerprint(clf)),
        )

    def label(self, ray: Any) -> int:
        """Read the input, label it on the actors and write the part files; returns the rows
        read. A CSV file Ray's reader refuses is explained (:func:`explain_read_error`)."""
        ds = read_dataset(self.filesystem, self.files, self.names, self.delimiter)
        try:
            rows = ds.count()  # reads the input once: ragged CSV rows fail here, before the model
            cpus = int(ray.cluster_resources().get("CPU", 0))
            concurrency = _actors(cpus, self.workers, self.concurrency)
            with warnings.catch_warnings():  # ray_remote_args: still the way to set retries
                warnings.simplefilter("ignore", DeprecationWarning)
                labelled = ds.map_batches(
                    RoleLabeller,
                    fn_constructor_kwargs=self.actor_args,
                    batch_format="pyarrow",
                    batch_size=self.options.batch_size,
                    compute=ray.data.ActorPoolStrategy(size=concurrency),
                    num_cpus=self.workers,
                    **ACTOR_OPTIONS,
                )
            write_dataset(labelled, self.fmt, self.out_fs, self.out_path)
        except Exception as exc:
            raise explain_read_error(exc, self.filesystem, self.names, self.delimiter) from exc
        return rows

    def summary(
        self, rows: int, tally: tuple[int, int, int, int, Counter[str], int], started: float
    ) -> LabelSummary:
        """The job's summary from the part files read back; their rows must be the rows read."""
        written, errors, n_warnings, below, counts, to_review = tally
        if written != rows:
            raise RowCountError(
                f"read {rows} rows but the part files in {self.output} hold {written}; they were "
                "kept for inspection"
            )
        options = self.options
        if options.min_confidence is not None:
            self.notes.append(min_confidence_note(options.min_confidence, below))
        return LabelSummary(
            rows=rows,
            rows_written=written,
            errors=errors,
            warnings=n_warnings,
            label_counts=dict(counts.most_common()),
            seconds=time.perf_counter() - started,
            output=self.output,
            columns=self.names + options.columns(self.labels),
            notes=self.notes,
            min_confidence=options.min_confidence,
            below_min_confidence=below,
            delimiter=self.delimiter,
            to_review=to_review,
        )


def _output_format(
    output: str | Path, options: LabelOptions, workers: int, concurrency: int | None
) -> str:
    """The output's format, after checking ``workers`` and ``concurrency``."""
    if workers < 1:
        raise LabelCsvError(f"workers must be at least 1, got {workers}")
    if concurrency is not None and concurrency < 1:
        raise LabelCsvError(f"concurrency must be at least 1, got {concurrency}")
    try:
        fmt = fileio.output_format_for(
            str(output).rstrip("/"), options.output_format, folder_default="parquet"
        )
    except fileio.OutputPathError as exc:
        raise LabelCsvError(str(exc)) from None
    if options.bom:
        raise LabelCsvError("bom (--bom) needs --engine local: Ray's CSV part files have no BOM")
    if fileio.output_gzipped(str(output).rstrip("/")):
        raise LabelCsvError(
            "--engine ray writes a folder of part files; a .gz OUTPUT needs --engine local"
        )
    if fmt == "xlsx":
        raise LabelCsvError(
            "--engine ray writes folders of parquet, csv, tsv or jsonl part files; xlsx output "
            "needs --engine local"
        )
    return fmt


def _actors(cpus: int, workers: int, concurrency: int | None) -> int:
    """Actors to start: each takes ``workers`` CPUs and one CPU stays free for Ray Data's
    listing, reading and writing tasks (with every CPU held by an actor they never run)."""
    most = (cpus - 1) // workers
    if most < 1:
        raise LabelCsvError(
            f"the Ray cluster has {cpus} CPU(s): one actor of {workers} worker(s) plus one CPU "
            "for reading and writing need more; lower --workers or add CPUs"
        )
    if concurrency is None:
        return most
    if concurrency > most:
        raise LabelCsvError(
            f"--concurrency {concurrency} x --workers {workers} CPUs would take every CPU of the "
            f"Ray cluster ({cpus}), leaving none to read and write: use --concurrency {most} or "
            "fewer"
        )
    return concurrency
