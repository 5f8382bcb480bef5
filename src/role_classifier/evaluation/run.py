"""Running models on a labelled CSV: read the rows once, run every model on them, measure each.

:func:`evaluate` reads the rows, loads the models (training the TF-IDF baseline when asked),
predicts, measures with :func:`~role_classifier.evaluation.metrics.compute_metrics` and, with
``report_dir``, writes the report. Models with the same backbone share one encoding of the rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import LabelledRows, read_labelled_csv
from ..modeling.model import RoleClassifier
from ..taxonomy import Taxonomy, load_taxonomy
from .baselines import TfidfBaseline
from .metrics import compute_metrics, group_metrics, review_metrics
from .report import write_report
from .schema import BASELINE_NAME, SCHEMA_VERSION, Classifier, EvaluationError, ModelRun

__all__ = ["BATCH_SIZE", "evaluate", "predict_rows"]

BATCH_SIZE = 64


def evaluate(
    data: str | Path,
    label_column: str,
    text_column: str,
    title_column: str | None = None,
    *,
    models: Sequence[str | tuple[str, Classifier]] = ("default",),
    taxonomy: Taxonomy | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    baseline_train: str | Path | None = None,
    baseline_filters: Mapping[str, Sequence[str]] | None = None,
    target_precision: float = 0.9,
    min_support: int = 1,
    group_column: str | None = None,
    report_dir: str | Path | None = None,
    progress: bool = False,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Evaluate one or more models on the same rows of a labelled CSV.

    Args:
        data: the CSV (``-`` for standard input).
        label_column, text_column, title_column: columns of the true label, the description
            and (optionally) the title.
        models: each a model name for ``RoleClassifier.from_pretrained`` (a directory,
            ``"default"``, ``"zero-shot"``), ``"tfidf-baseline"`` (trained on
            ``baseline_train``), or a ``(name, classifier)`` pair already loaded.
        taxonomy: the label set; by default the first model's (the shipped one for a baseline).
        filters: ``{column: [values]}``; only rows whose cell is one of the values are used.
        baseline_train: CSV the TF-IDF baseline is trained on (same columns as ``data``).
        baseline_filters: filters for ``baseline_train`` rows, e.g. ``{"split": ["train"]}``.
        target_precision: precision the reported coverage threshold must reach.
        min_support: labels with fewer rows are excluded from macro-F1.
        group_column: also report the metrics per value of this column (``groups``), e.g. per
            source: how a model does on each board or company it was or was not trained on.
        report_dir: when given, figures, ``report.md`` and ``misclassified.csv`` are written.
        progress: show progress bars on standard error.
        delimiter: the CSVs' delimiter (one character, or ``tab``); sniffed when None.

    Returns:
        ``{"schema_version": 2, "models": [...]}``, one metrics dict per model (see
        :mod:`role_classifier.evaluation.schema`), however many models there are.

    Raises:
        EvaluationError: bad input (missing column, no usable rows, no baseline data, models
            with different label sets); the message says what to change.

    Example:
        >>> result = evaluate("test.csv", "label", "description",
        ...                   models=["zero-shot", "tfidf-baseline"],
        ...                   baseline_train="train.csv")  # doctest: +SKIP
        >>> [(m["model"], m["macro_f1"]) for m in result["models"]]  # doctest: +SKIP
        [('zero-shot', 0.41), ('tfidf-baseline', 0.37)]
    """
    if not models:
        raise EvaluationError("give at least one model")
    loaded = _load_models(models, taxonomy)
    request = _Request(
        data=data,
        label_column=label_column,
        text_column=text_column,
        title_column=title_column,
        taxonomy=_common_taxonomy(loaded, taxonomy),
        filters=filters,
        group_column=group_column,
        delimiter=delimiter,
        target_precision=target_precision,
        min_support=min_support,
    )
    rows = _read_rows(request)
    encoded: dict[tuple[object, ...], tuple[str, Any, list[Any]]] = {}
    runs: list[ModelRun] = []
    for name, clf in loaded:
        warnings: list[str] = rows.warnings()
        if clf is None:
            clf, baseline_warnings = _train_baseline(
                request, baseline_train, baseline_filters, rows
            )
            warnings += baseline_warnings
        started = time.perf_counter()
        proba, encoding_warnings = _predict(name, clf, rows, encoded, progress)
        seconds = time.perf_counter() - started
        predicted = np.asarray(clf.decide(proba), dtype=int)
        warnings += encoding_warnings
        metrics = _model_result(request, name, rows, proba, predicted, seconds, warnings)
        metrics["review"] = (  # the model's review band; None for the baseline (it has none)
            review_metrics(
                rows.labels, request.taxonomy.labels, predicted, clf.review_bands(proba, predicted)
            )
            if hasattr(clf, "review_bands")
            else None
        )
        runs.append(ModelRun(name, metrics, proba, predicted))
    if report_dir is not None:
        write_report(report_dir, runs, rows)
    return {"schema_version": SCHEMA_VERSION, "models": [r.metrics for r in runs]}


@dataclass(frozen=True)
class _Request:
    """The arguments of one :func:`evaluate` call that its steps share, passed whole."""

    data: str | Path
    label_column: str
    text_column: str
    title_column: str | None
    taxonomy: Taxonomy
    filters: Mapping[str, Sequence[str]] | None
    group_column: str | None
    delimiter: str | None
    target_precision: float
    min_support: int

    def data_info(self) -> dict[str, Any]:
        """The result's ``data`` object."""
        return {
            "path": str(self.data),
            "label_column": self.label_column,
            "text_column": self.text_column,
            "title_column": self.title_column,
            "group_column": self.group_column,
            "filters": {k: list(v) for k, v in (self.filters or {}).items()},
        }


def predict_rows(
    clf: Classifier,
    rows: LabelledRows,
    *,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
    description: str = "predicting",
) -> np.ndarray:
    """Probabilities for every row, in batches of ``batch_size``.

    Args:
        clf: anything with ``predict_proba(descriptions, titles=titles)``.
        progress: show a rich progress bar on standard error.

    Example:
        >>> proba = predict_rows(clf, rows)  # doctest: +SKIP
        >>> proba.shape == (len(rows), len(clf.labels))  # doctest: +SKIP
        True
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    parts = []
    columns = (f"[bold]{description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(
        *columns, console=Console(stderr=True), transient=True, disable=not progress
    ) as bar:
        task = bar.add_task(description, total=len(rows))
        for lo in range(0, len(rows), batch_size):
            hi = min(lo + batch_size, len(rows))
            titles = rows.titles[lo:hi] if rows.titles is not None else None
            parts.append(clf.predict_proba(rows.descriptions[lo:hi], titles=titles))
            bar.update(task, completed=hi)
    if not parts:
        return np.zeros((0, len(clf.labels)))
    return np.vstack(parts)


# -- steps -------------------------------------------------------------------------------------
def _load_models(
    models: Sequence[str | tuple[str, Classifier]], taxonomy: Taxonomy | None
) -> list[tuple[str, Classifier | None]]:
    """``(name, classifier)`` pairs; the baseline is None until it is trained."""
    out: list[tuple[str, Classifier | None]] = []
    for spec in models:
        if isinstance(spec, tuple):
            out.append(spec)
        elif spec == BASELINE_NAME:
            out.append((spec, None))
        else:
            try:
                out.append((spec, RoleClassifier.from_pretrained(spec, taxonomy=taxonomy)))
            except (FileNotFoundError, ValueError) as exc:
                raise EvaluationError(str(exc)) from exc
    names = [name for name, _ in out]
    if len(set(names)) != len(names):
        raise EvaluationError(f"a model is given twice: {', '.join(names)}")
    return out


def _common_taxonomy(
    loaded: Sequence[tuple[str, Classifier | None]], taxonomy: Taxonomy | None
) -> Taxonomy:
    """The label set: the one given, else the first model's, else the shipped one; every model
    must have it."""
    tax = taxonomy or next(
        (c.taxonomy for _, c in loaded if c is not None and hasattr(c, "taxonomy")),
        None,
    )
    tax = tax if tax is not None else load_taxonomy()
    for name, clf in loaded:
        if clf is not None and list(clf.labels) != tax.labels:
            raise EvaluationError(
                f"model '{name}' has labels {clf.labels}, but the evaluation uses "
                f"{tax.labels}; evaluate models with different label sets separately"
            )
    return tax


def _read_rows(request: _Request) -> LabelledRows:
    rows = read_labelled_csv(
        request.data,
        request.label_column,
        request.text_column,
        request.title_column,
        taxonomy=request.taxonomy,
        filters=request.filters,
        group_column=request.group_column,
        delimiter=request.delimiter,
    )
    if len(rows) == 0:
        raise EvaluationError(
            f"no row of {request.data} can be evaluated: {rows.counts()['unknown_label']} with "
            f"labels not in the taxonomy ({', '.join(list(rows.unknown_labels)[:10])}), "
            f"{len(rows.errors)} with an empty label or text"
        )
    return rows


def _train_baseline(
    request: _Request,
    train: str | Path | None,
    filters: Mapping[str, Sequence[str]] | None,
    eval_rows: LabelledRows,
) -> tuple[Classifier, list[str]]:
    """The TF-IDF baseline trained on ``train``, and warnings about its training rows."""
    if train is None:
        raise EvaluationError(f"'{BASELINE_NAME}' needs training data: give --baseline-train CSV")
    taxonomy = request.taxonomy
    rows = read_labelled_csv(
        train,
        request.label_column,
        request.text_column,
        request.title_column,
        taxonomy=taxonomy,
        filters=filters,
        delimiter=request.delimiter,
    )
    baseline = TfidfBaseline(taxonomy.labels, taxonomy.other_label)
    try:
        baseline.fit(rows.descriptions, rows.labels, titles=rows.titles)
    except ValueError as exc:
        raise EvaluationError(f"{train}: {exc}") from exc
    warnings = [f"baseline training data, {w}" for w in rows.warnings()]
    overlap = len(set(rows.texts()) & set(eval_rows.texts()))
    if overlap:
        warnings.append(
            f"{overlap} evaluated rows are also in the baseline's training rows "
            "(use --filter and --baseline-filter to separate them)"
        )
    missing = [lab for lab in taxonomy.labels if lab not in set(rows.labels)]
    if missing:
        warnings.append(f"baseline has no training rows for: {', '.join(missing)}")
    return baseline, warnings


def _predict(
    name: str,
    clf: Classifier,
    rows: LabelledRows,
    encoded: dict[tuple[object, ...], tuple[str, Any, list[Any]]],
    progress: bool,
) -> tuple[np.ndarray, list[str]]:
    """The model's probabilities for the rows, and a warning when it reused another's encodings.

    ``encoded`` maps an ``encoding_key()`` to the first model with it and its encodings, so
    models with the same backbone and windows encode the rows only once.
    """
    key = clf.encoding_key() if hasattr(clf, "encoding_key") else None
    if key is None:
        return predict_rows(clf, rows, progress=progress, description=name), []
    if key in encoded:
        first_name, first, enc = encoded[key]
        clf.share_encoder(first)
        return clf.proba_from_encoded(enc), [
            f"reused the encodings of '{first_name}' (same backbone)"
        ]
    enc = clf.encode(rows.postings(), show_progress=progress)
    encoded[key] = (name, clf, enc)
    return clf.proba_from_encoded(enc), []


def _model_result(
    request: _Request,
    name: str,
    rows: LabelledRows,
    proba: np.ndarray,
    predicted: np.ndarray,
    seconds: float,
    warnings: list[str],
) -> dict[str, Any]:
    """One model's object of the JSON schema."""
    tax = request.taxonomy
    metrics = compute_metrics(
        rows.labels,
        proba,
        tax.labels,
        predicted=predicted,
        other_label=tax.other_label,
        min_support=request.min_support,
        target_precision=request.target_precision,
    )
    result = {
        "model": name,
        **metrics,
        "unknown_labels": dict(rows.unknown_labels),
        "rows": rows.counts(),
        "errors": list(rows.errors),
        "ragged": list(rows.ragged),
        "data": request.data_info(),
        "seconds": round(seconds, 3),
        "warnings": warnings,
    }
    if rows.groups is not None:
        result["groups"] = group_metrics(
            rows.labels,
            proba,
            rows.groups,
            tax.labels,
            predicted=predicted,
            other_label=tax.other_label,
            min_support=request.min_support,
        )
    return result
