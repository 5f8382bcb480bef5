"""Evaluate classifiers on a labelled CSV: metrics, a side-by-side comparison, and reports.

Three layers, each usable alone:

* :func:`compute_metrics` turns ``(y_true, proba, labels)`` into the metrics dict; no model needed.
* :func:`predict_rows` runs a classifier over :class:`LabelledRows` (read by
  :func:`read_labelled_csv`) in batches and returns the probabilities.
* :func:`write_report` writes PNG figures, ``report.md`` and ``misclassified.csv`` (every
  column of the input, so its ids come along, then ``row``, ``line``, ``true``, ``predicted``,
  ``confidence``, ``true_probability``; prefixed ``eval_`` if the input has such a column).

:func:`evaluate` ties them together; ``role-classifier evaluate`` is a thin wrapper around it.
Every model is run on exactly the same rows.

JSON schema (``schema_version`` 2)
----------------------------------
:func:`evaluate` returns, and ``evaluate --json`` writes, one shape whatever the number of
models: ``{"schema_version": 2, "models": [object, ...]}``, one object per model in the order
the models were given. (Version 1 returned a lone object for one model and put
``schema_version`` in every object; its rows had no line numbers.) Each object has these keys
(probabilities and rates are floats in [0, 1], rounded to 6 decimals; ``null`` where undefined):

``model``
    the model as given: a directory, ``default``, ``zero-shot`` or ``tfidf-baseline``.
``n``
    rows evaluated (after filters and exclusions).
``accuracy``, ``macro_f1``, ``weighted_f1``
    from scikit-learn, on the model's decisions (``decide``: arg-max plus the model's own
    Other threshold). ``macro_f1`` averages only ``macro_f1_labels``.
``macro_f1_labels``
    labels averaged in ``macro_f1``: those with at least ``min_support`` evaluated rows.
``excluded_labels``
    taxonomy labels left out of ``macro_f1``: fewer than ``min_support`` rows (with the default
    of 1, the labels with no rows). They still appear in ``per_label`` and ``confusion``.
``min_support``
    the ``--min-support`` used.
``ece``
    expected calibration error: rows binned into ``calibration.n_bins`` equal-width bins by
    the probability given to the decided label; the row-weighted mean of
    ``|accuracy - mean probability|`` over bins.
``top2_accuracy``
    share of rows whose true label is among the two most probable
    (``sklearn.metrics.top_k_accuracy_score``).
``per_label``
    ``{label: {"precision", "recall", "f1", "support"}}`` for every taxonomy label, in taxonomy
    order (scikit-learn, ``zero_division=0``).
``confusion``
    ``{"labels": [...], "matrix": [[...]]}``: ``matrix[i][j]`` counts rows of true label
    ``labels[i]`` decided as ``labels[j]``.
``calibration``
    ``{"n_bins", "bins": [{"lower", "upper", "count", "confidence", "accuracy"}]}``, the
    reliability diagram's data (``confidence``/``accuracy`` are ``null`` in empty bins).
``coverage``
    abstaining to Other below a threshold, as ``ModelConfig.other_threshold`` does: at
    threshold ``t`` a row gets its arg-max label unless its best non-Other probability is below
    ``t``, then it is Other. ``{"target_precision", "threshold", "coverage", "precision",
    "accuracy", "points": [{"threshold", "coverage", "precision", "accuracy"}]}``:
    ``coverage`` is the share of rows given a (non-Other) role, ``precision`` the share of those
    that are right, ``accuracy`` the overall accuracy with the rest labelled Other.
    ``threshold`` is the lowest threshold whose ``precision`` reaches ``target_precision``
    (with its coverage, precision and accuracy): 0 when abstaining is not needed, ``null``
    when no threshold reaches it; it can be used as ``other_threshold``. ``points`` holds the
    curve by increasing threshold: at 0, then at the rows' best-role probabilities (at most
    200, evenly spread over coverage); ``precision`` is ``null`` where nothing is covered.
``unknown_labels``
    ``{label: count}``: rows whose label matches no taxonomy label (after
    ``Taxonomy.normalize_label``); reported and excluded.
``rows``
    ``{"total", "filtered_out", "unknown_label", "errors", "ragged", "evaluated"}`` row counts
    (they add up to ``total``).
``errors``
    ``[{"row", "line", "error"}]``: excluded rows (empty label, empty text); ``row`` is the
    1-based data row of the CSV (the header is not counted), ``line`` the line it starts on
    (the header is line 1).
``ragged``
    ``[{"row", "line", "error"}]``: skipped rows with more or fewer cells than the header.
``groups``
    only with ``group_column`` (e.g. the source of each posting): ``{value: {"n", "accuracy",
    "macro_f1", "macro_f1_labels", "weighted_f1", "ece", "top2_accuracy"}}``, the same metrics
    on the rows of each value of that column (``macro_f1`` over the labels with at least
    ``min_support`` rows in the group), groups in order of size.
``data``
    ``{"path", "label_column", "text_column", "title_column", "group_column", "filters"}``.
``seconds``
    time spent predicting.
``warnings``
    strings: how the file was read (ragged rows skipped, lines that were not UTF-8, a delimiter
    other than a comma), a baseline trained on evaluated rows, encodings reused.

Example:
    >>> import numpy as np
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.5, 0.2, 0.3]])
    >>> m = compute_metrics(["A", "B", "C"], proba, ["A", "B", "C"])
    >>> m["accuracy"], m["top2_accuracy"], m["per_label"]["C"]["recall"]
    (0.666667, 1.0, 0.0)
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from .data import DataError, LabelledRows, read_labelled_csv
from .taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "BASELINE_NAME",
    "Classifier",
    "EvaluationError",
    "ModelRun",
    "SCHEMA_VERSION",
    "calibration_bins",
    "compute_metrics",
    "coverage_curve",
    "evaluate",
    "expected_calibration_error",
    "group_metrics",
    "label_csv_command",
    "predict_rows",
    "write_report",
]

SCHEMA_VERSION = 2
BASELINE_NAME = "tfidf-baseline"
BATCH_SIZE = 64


class EvaluationError(DataError):
    """Input that cannot be evaluated; the message says what to change."""


class Classifier(Protocol):
    """What evaluation needs of a model (``RoleClassifier`` and ``TfidfBaseline`` have it)."""

    labels: list[str]

    def predict_proba(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> np.ndarray: ...

    def decide(self, proba: np.ndarray) -> np.ndarray: ...


# -- metrics -----------------------------------------------------------------------------------
def calibration_bins(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    n_bins: int = 10,
) -> list[dict[str, Any]]:
    """Equal-width confidence bins with their row count, mean confidence and accuracy.

    Bins are ``(lower, upper]`` except the first, which also holds 0 (as in
    ``sklearn.calibration.calibration_curve``). Empty bins have ``None`` confidence and accuracy.

    Example:
        >>> [b["count"] for b in calibration_bins([0.05, 0.95, 1.0], [False, True, True], 2)]
        [1, 2]
    """
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], conf, side="left")
    out = []
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        out.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "confidence": float(conf[mask].mean()) if count else None,
                "accuracy": float(hit[mask].mean()) if count else None,
            }
        )
    return out


def expected_calibration_error(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    n_bins: int = 10,
) -> float:
    """ECE: the row-weighted mean gap between accuracy and confidence over equal-width bins.

    Example:
        >>> expected_calibration_error([0.8] * 5, [True, True, True, True, False])
        0.0
        >>> round(expected_calibration_error([0.99] * 2, [True, False]), 2)
        0.49
    """
    bins = calibration_bins(confidence, correct, n_bins)
    n = sum(b["count"] for b in bins)
    if n == 0:
        return 0.0
    gap = sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    return float(round(gap / n, 12))


def coverage_curve(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    other_index: int,
    target_precision: float = 0.9,
    max_points: int = 200,
) -> dict[str, Any]:
    """Coverage, precision and accuracy when rows below a threshold abstain to Other.

    At threshold ``t`` a row keeps its arg-max label unless its best non-Other probability is
    below ``t`` (then it is Other), exactly like ``ModelConfig.other_threshold``. Coverage is the
    share of rows given a non-Other role, precision the share of those that are right, accuracy
    the overall accuracy with the abstaining rows labelled Other.

    Args:
        y_true: true label indices.
        proba: probabilities, one column per label.
        other_index: column of the Other label.
        target_precision: the precision the reported ``threshold`` must reach.
        max_points: the curve is sampled at threshold 0 and at most this many of the rows'
            best-role probabilities (evenly spread over coverage).

    Returns:
        ``{"target_precision", "threshold", "coverage", "precision", "accuracy", "points"}``;
        ``threshold`` is the lowest one reaching ``target_precision`` (0 when no row needs to
        abstain, None when no threshold reaches it), and
        ``points`` lists ``{"threshold", "coverage", "precision", "accuracy"}`` by threshold.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])  # columns: role, Other
        >>> c = coverage_curve([0, 1, 1], p, other_index=1, target_precision=1.0)
        >>> c["threshold"], c["coverage"], c["precision"]
        (0.9, 0.333333, 1.0)
        >>> [(q["threshold"], q["coverage"]) for q in c["points"]]
        [(0.0, 0.666667), (0.6, 0.666667), (0.9, 0.333333)]
    """
    y = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float)
    n = len(y)
    arg = proba.argmax(axis=1) if n else np.zeros(0, dtype=int)
    role_rows = arg != other_index
    best_role = proba[np.arange(n), arg]
    role_right = (arg == y) & role_rows
    other_true = y == other_index

    def point(t: float) -> dict[str, Any]:
        covered = role_rows & (best_role >= t)
        k = int(covered.sum())
        right = int((role_right & covered).sum()) + int((other_true & ~covered).sum())
        return {
            "threshold": _r(t),
            "coverage": _r(k / n) if n else None,
            "precision": _r((role_right & covered).sum() / k) if k else None,
            "accuracy": _r(right / n) if n else None,
        }

    # Rows given a role, most confident first; a threshold equal to row j's probability covers
    # every row up to the last one tied with it ("ends").
    order = np.argsort(-best_role[role_rows], kind="stable")
    b = best_role[role_rows][order]
    hits = np.cumsum(role_right[role_rows][order])
    ends = np.flatnonzero(np.r_[b[1:] != b[:-1], True]) if len(b) else np.zeros(0, dtype=int)
    reached = ends[hits[ends] >= (target_precision - 1e-12) * (ends + 1)]
    found: dict[str, Any] = {"threshold": None, "coverage": None, "precision": None}
    found["accuracy"] = None
    if len(reached):  # the most rows covered at the target; 0 when no abstaining is needed
        found = point(0.0 if reached[-1] == ends[-1] else float(b[reached[-1]]))

    if len(ends) > max_points:
        ends = ends[np.unique(np.linspace(0, len(ends) - 1, max_points).round().astype(int))]
    thresholds = [0.0, *sorted({float(b[j]) for j in ends} - {0.0})]
    points = [point(t) for t in thresholds]
    return {"target_precision": _r(target_precision), **found, "points": points}


def compute_metrics(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    *,
    predicted: Sequence[int] | np.ndarray | None = None,
    other_label: str = "Other",
    min_support: int = 1,
    target_precision: float = 0.9,
    n_bins: int = 10,
) -> dict[str, Any]:
    """All metrics for true labels and predicted probabilities; no model needed.

    Args:
        y_true: true label names, each one of ``labels``.
        proba: ``(n, len(labels))`` probabilities; columns follow ``labels``.
        labels: the label set, in order.
        predicted: decided label indices (e.g. ``clf.decide(proba)``); arg-max when None.
        other_label: the label abstentions go to in the coverage curve (the last label when
            ``other_label`` is not in ``labels``).
        min_support: labels with fewer evaluated rows are left out of ``macro_f1``.
        target_precision: the precision the coverage threshold must reach.
        n_bins: bins of the calibration error and reliability diagram.

    Returns:
        The metric keys of the module's JSON schema: ``n``, ``accuracy``, ``macro_f1``,
        ``weighted_f1``, ``ece``, ``top2_accuracy``, ``macro_f1_labels``, ``excluded_labels``,
        ``min_support``, ``per_label``, ``confusion``, ``calibration``, ``coverage``.

    Raises:
        EvaluationError: no rows, a label not in ``labels``, or a ``proba`` of the wrong shape.

    Example:
        >>> p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
        >>> m = compute_metrics(["A", "B", "B"], p, ["A", "B", "C"])
        >>> m["accuracy"], m["excluded_labels"], m["top2_accuracy"]
        (0.666667, ['C'], 1.0)
    """
    labels = list(labels)
    proba = np.asarray(proba, dtype=float)
    n = len(y_true)
    if n == 0:
        raise EvaluationError("no rows to evaluate")
    if proba.shape != (n, len(labels)):
        raise EvaluationError(f"proba has shape {proba.shape}, expected {(n, len(labels))}")
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted(set(y_true) - set(index))
    if unknown:
        raise EvaluationError(f"labels not in the label set: {', '.join(unknown)}")
    y = np.array([index[v] for v in y_true])
    pred = proba.argmax(axis=1) if predicted is None else np.asarray(predicted, dtype=int)
    every = list(range(len(labels)))

    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=every, zero_division=0
    )
    included = [i for i in every if support[i] >= min_support]
    macro = f1_score(y, pred, labels=included, average="macro", zero_division=0) if included else 0
    confidence = proba[np.arange(n), pred]
    correct = pred == y
    other = index.get(other_label, len(labels) - 1)
    return {
        "n": n,
        "accuracy": _r(accuracy_score(y, pred)),
        "macro_f1": _r(macro),
        "weighted_f1": _r(f1_score(y, pred, labels=every, average="weighted", zero_division=0)),
        "ece": _r(expected_calibration_error(confidence, correct, n_bins)),
        "top2_accuracy": _r(_top2(y, proba)),
        "macro_f1_labels": [labels[i] for i in included],
        "excluded_labels": [labels[i] for i in every if i not in included],
        "min_support": min_support,
        "per_label": {
            labels[i]: {
                "precision": _r(precision[i]),
                "recall": _r(recall[i]),
                "f1": _r(f1[i]),
                "support": int(support[i]),
            }
            for i in every
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y, pred, labels=every).tolist(),
        },
        "calibration": {
            "n_bins": n_bins,
            "bins": [
                {k: (_r(v) if isinstance(v, float) else v) for k, v in b.items()}
                for b in calibration_bins(confidence, correct, n_bins)
            ],
        },
        "coverage": coverage_curve(y, proba, other, target_precision),
    }


GROUP_KEYS = ("n", "accuracy", "macro_f1", "macro_f1_labels", "weighted_f1", "ece", "top2_accuracy")


def group_metrics(
    y_true: Sequence[str],
    proba: np.ndarray,
    groups: Sequence[str],
    labels: Sequence[str],
    *,
    predicted: Sequence[int] | np.ndarray | None = None,
    other_label: str = "Other",
    min_support: int = 1,
) -> dict[str, dict[str, Any]]:
    """:func:`compute_metrics`' headline figures (``GROUP_KEYS``) per group, largest first.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
        >>> g = group_metrics(["A", "B", "B"], p, ["x", "x", "y"], ["A", "B"])
        >>> list(g), g["x"]["accuracy"], g["y"]["accuracy"]
        (['x', 'y'], 1.0, 0.0)
    """
    groups = np.asarray(groups, dtype=object)
    y_true = np.asarray(y_true, dtype=object)
    pred = np.asarray(proba).argmax(axis=1) if predicted is None else np.asarray(predicted)
    out = {}
    for value, _count in Counter(groups.tolist()).most_common():
        rows = groups == value
        m = compute_metrics(
            list(y_true[rows]),
            proba[rows],
            labels,
            predicted=pred[rows],
            other_label=other_label,
            min_support=min_support,
        )
        out[str(value) or "(empty)"] = {k: m[k] for k in GROUP_KEYS}
    return out


def _top2(y: np.ndarray, proba: np.ndarray) -> float:
    """Top-2 accuracy; with two labels every row is trivially right (sklearn rejects that case)."""
    if proba.shape[1] <= 2:
        return 1.0
    return float(top_k_accuracy_score(y, proba, k=2, labels=list(range(proba.shape[1]))))


def _r(x: float | np.floating | None) -> float | None:
    return None if x is None else round(float(x), 6)


# -- running models ----------------------------------------------------------------------------
@dataclass
class ModelRun:
    """One model's result on the rows: its metrics dict, probabilities and decisions."""

    name: str
    metrics: dict[str, Any]
    proba: np.ndarray
    predicted: np.ndarray


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
        ``{"schema_version": 2, "models": [...]}``, one metrics dict per model (see the module
        docstring), however many models there are.

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
    rows = read_labelled_csv(
        data,
        label_column,
        text_column,
        title_column,
        taxonomy=tax,
        filters=filters,
        group_column=group_column,
        delimiter=delimiter,
    )
    if len(rows) == 0:
        raise EvaluationError(
            f"no row of {data} can be evaluated: {rows.counts()['unknown_label']} with labels "
            f"not in the taxonomy ({', '.join(list(rows.unknown_labels)[:10])}), "
            f"{len(rows.errors)} with an empty label or text"
        )
    runs: list[ModelRun] = []
    encoded: dict[tuple[object, ...], tuple[Any, list[Any]]] = {}  # encoding_key -> (model, rows)
    first_name: dict[tuple[object, ...], str] = {}
    for name, clf in loaded:
        warnings: list[str] = rows.warnings()
        if clf is None:
            clf, baseline_warnings = _train_baseline(
                baseline_train,
                label_column,
                text_column,
                title_column,
                tax,
                baseline_filters,
                rows,
                delimiter,
            )
            warnings += baseline_warnings
        started = time.perf_counter()
        key = clf.encoding_key() if hasattr(clf, "encoding_key") else None
        if key is not None and key in encoded:  # same backbone and windows: encode only once
            first, enc = encoded[key]
            clf.share_encoder(first)
            proba = clf.proba_from_encoded(enc)
            warnings.append(f"reused the encodings of '{first_name[key]}' (same backbone)")
        elif key is not None:
            enc = clf.encode(rows.postings(), show_progress=progress)
            encoded[key] = (clf, enc)
            first_name[key] = name
            proba = clf.proba_from_encoded(enc)
        else:
            proba = predict_rows(clf, rows, progress=progress, description=name)
        seconds = time.perf_counter() - started
        predicted = np.asarray(clf.decide(proba), dtype=int)
        metrics = compute_metrics(
            rows.labels,
            proba,
            tax.labels,
            predicted=predicted,
            other_label=tax.other_label,
            min_support=min_support,
            target_precision=target_precision,
        )
        result = {
            "model": name,
            **metrics,
            "unknown_labels": dict(rows.unknown_labels),
            "rows": rows.counts(),
            "errors": list(rows.errors),
            "ragged": list(rows.ragged),
            "data": {
                "path": str(data),
                "label_column": label_column,
                "text_column": text_column,
                "title_column": title_column,
                "group_column": group_column,
                "filters": {k: list(v) for k, v in (filters or {}).items()},
            },
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
                min_support=min_support,
            )
        runs.append(ModelRun(name, result, proba, predicted))
    if report_dir is not None:
        write_report(report_dir, runs, rows)
    return {"schema_version": SCHEMA_VERSION, "models": [r.metrics for r in runs]}


def label_csv_command(metrics: dict[str, Any], *extra: str) -> str | None:
    """The ``label-csv`` command that labels new postings with this model and abstains to Other
    at the coverage threshold found for ``--target-precision``; None when there is no such
    threshold (not reached, 0: no abstaining needed, or the TF-IDF baseline, which
    ``label-csv`` cannot run).

    Args:
        metrics: one model's object of the JSON schema.
        extra: more arguments to append (e.g. ``--taxonomy``, ``my.yaml``).

    Example:
        >>> m = {"model": "default", "coverage": {"threshold": 0.62}, "data": {
        ...     "text_column": "description", "title_column": None}}
        >>> label_csv_command(m)
        'role-classifier label-csv JOBS.csv LABELLED.csv --text-column description --model \
default --min-confidence 0.62'
    """
    import shlex

    threshold = metrics["coverage"]["threshold"]
    if not threshold or metrics["model"] == BASELINE_NAME:
        return None
    d = metrics["data"]
    args = ["JOBS.csv", "LABELLED.csv", "--text-column", d["text_column"]]
    if d["title_column"]:
        args += ["--title-column", d["title_column"]]
    args += ["--model", metrics["model"], "--min-confidence", f"{threshold}", *extra]
    return "role-classifier label-csv " + shlex.join(args)


def _load_models(
    models: Sequence[str | tuple[str, Classifier]], taxonomy: Taxonomy | None
) -> list[tuple[str, Classifier | None]]:
    """``(name, classifier)`` pairs; the baseline is None until it is trained."""
    from .model import RoleClassifier

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


def _train_baseline(
    train: str | Path | None,
    label_column: str,
    text_column: str,
    title_column: str | None,
    taxonomy: Taxonomy,
    filters: Mapping[str, Sequence[str]] | None,
    eval_rows: LabelledRows,
    delimiter: str | None = None,
) -> tuple[Classifier, list[str]]:
    from .baselines import TfidfBaseline

    if train is None:
        raise EvaluationError(f"'{BASELINE_NAME}' needs training data: give --baseline-train CSV")
    rows = read_labelled_csv(
        train,
        label_column,
        text_column,
        title_column,
        taxonomy=taxonomy,
        filters=filters,
        delimiter=delimiter,
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


# -- reports -----------------------------------------------------------------------------------
def write_report(report_dir: str | Path, runs: Sequence[ModelRun], rows: LabelledRows) -> Path:
    """Write figures, ``misclassified.csv`` and ``report.md``; returns the report.md path.

    One model writes into ``report_dir``; several write one subfolder per model plus a
    top-level ``report.md`` comparing them (with a combined coverage figure).

    Example:
        >>> write_report("reports/eval", runs, rows)  # doctest: +SKIP
        PosixPath('reports/eval/report.md')
    """
    root = Path(report_dir)
    root.mkdir(parents=True, exist_ok=True)
    if len(runs) == 1:
        _write_model_report(root, runs[0], rows)
        return root / "report.md"
    folders = _folder_names([r.name for r in runs])
    for run, folder in zip(runs, folders, strict=True):
        _write_model_report(root / folder, run, rows)
    from . import _report_plots as plots

    plots.coverage_figure(root / "coverage.png", [(r.name, r.metrics["coverage"]) for r in runs])
    lines = [
        "# Evaluation: model comparison",
        "",
        *_data_lines(runs[0].metrics),
        "",
        "## Metrics",
        "",
        *_metrics_table([r.metrics for r in runs]),
        "",
        *_group_lines([r.metrics for r in runs]),
        "## F1 per role",
        "",
        *_per_label_comparison([r.metrics for r in runs]),
        "",
        "## Coverage when abstaining to Other",
        "",
        "![coverage](coverage.png)",
        "",
        "## Models",
        "",
    ]
    for run, folder in zip(runs, folders, strict=True):
        lines += [
            f"### {run.name}",
            "",
            f"Full report: [{folder}/report.md]({folder}/report.md)",
            "",
            f"![confusion matrix of {run.name}]({folder}/confusion_matrix.png)",
            "",
        ]
    path = root / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_model_report(folder: Path, run: ModelRun, rows: LabelledRows) -> None:
    from . import _report_plots as plots

    folder.mkdir(parents=True, exist_ok=True)
    m = run.metrics
    plots.confusion_figure(folder / "confusion_matrix.png", m["confusion"], run.name)
    plots.reliability_figure(folder / "reliability.png", m["calibration"], m["ece"], run.name)
    plots.coverage_figure(folder / "coverage.png", [(run.name, m["coverage"])])
    _write_misclassified(folder / "misclassified.csv", run, rows)
    n_wrong = int((run.predicted != _label_idx(m, rows)).sum())
    lines = [
        f"# Evaluation: {run.name}",
        "",
        *_data_lines(m),
        "",
        "## Metrics",
        "",
        *_metrics_table([m]),
        "",
        *_group_lines([m]),
        "## Per role",
        "",
        "| role | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
            for lab, v in m["per_label"].items()
        ],
        "",
        f"Macro-F1 averages {len(m['macro_f1_labels'])} roles. "
        + (
            f"Excluded (fewer than {m['min_support']} rows): {', '.join(m['excluded_labels'])}."
            if m["excluded_labels"]
            else "No role was excluded."
        ),
        "",
        "## Confusion matrix",
        "",
        "Rows are true roles, columns predicted; colour and the upper number are the share of the"
        " row, the lower number the count.",
        "",
        "![confusion matrix](confusion_matrix.png)",
        "",
        "## Calibration",
        "",
        f"Expected calibration error: {m['ece']:.3f} ({m['calibration']['n_bins']} bins, by the"
        " probability of the decided label).",
        "",
        "![reliability diagram](reliability.png)",
        "",
        "## Coverage when abstaining to Other",
        "",
        _coverage_sentence(m),
        "",
        "![coverage](coverage.png)",
        "",
        "## Misclassified rows",
        "",
        f"[misclassified.csv](misclassified.csv): {n_wrong} rows, most confident mistakes first.",
        "",
    ]
    for warning in m["warnings"]:
        lines.append(f"> warning: {warning}")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _label_idx(metrics: dict[str, Any], rows: LabelledRows) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(metrics["confusion"]["labels"])}
    return np.array([index[v] for v in rows.labels])


def _write_misclassified(path: Path, run: ModelRun, rows: LabelledRows) -> None:
    labels = run.metrics["confusion"]["labels"]
    y = _label_idx(run.metrics, rows)
    wrong = np.flatnonzero(run.predicted != y)
    confidence = run.proba[np.arange(len(y)), run.predicted]
    order = wrong[np.argsort(-confidence[wrong], kind="stable")]
    added = ["row", "line", "true", "predicted", "confidence", "true_probability"]
    clash = set(added) & set(rows.header)
    prefix = "eval_" if clash else ""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows.header, *(prefix + a for a in added)])
        for i in order:
            writer.writerow(
                [
                    *rows.cells[i],
                    rows.row_numbers[i],
                    rows.lines[i],
                    labels[y[i]],
                    labels[run.predicted[i]],
                    f"{confidence[i]:.4f}",
                    f"{run.proba[i, y[i]]:.4f}",
                ]
            )


def _data_lines(m: dict[str, Any]) -> list[str]:
    d, r = m["data"], m["rows"]
    filters = ", ".join(f"{k}={'|'.join(v)}" for k, v in d["filters"].items()) or "none"
    columns = f"label `{d['label_column']}`, text `{d['text_column']}`"
    if d["title_column"]:
        columns += f", title `{d['title_column']}`"
    out = [
        f"- data: `{d['path']}` ({columns}; filters: {filters})",
        f"- rows: {r['total']} in the file, {r['filtered_out']} filtered out, "
        f"{r['unknown_label']} with unknown labels, {r['errors']} with errors, "
        f"**{r['evaluated']} evaluated**",
    ]
    if m["unknown_labels"]:
        shown = ", ".join(f"{k} ({v})" for k, v in sorted(m["unknown_labels"].items()))
        out.append(f"- labels not in the taxonomy (excluded): {shown}")
    if m["errors"]:
        shown = ", ".join(f"{e['row']} ({e['error']})" for e in m["errors"][:20])
        more = f" and {len(m['errors']) - 20} more" if len(m["errors"]) > 20 else ""
        out.append(f"- excluded rows: {shown}{more}")
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _coverage_sentence(m: dict[str, Any]) -> str:
    cov = m["coverage"]
    target = cov["target_precision"]
    if cov["threshold"] is None:
        return f"No threshold reaches precision {target:.2f} on the roles it names."
    sentence = (
        f"Labelling Other every posting whose best role is below **{cov['threshold']:.3f}** "
        f"reaches precision {_fmt(cov['precision'])} (target {target:.2f}) on the "
        f"{_fmt(cov['coverage'])} of postings still given a role; overall accuracy "
        f"{_fmt(cov['accuracy'])}."
    )
    command = label_csv_command(m)
    if command:
        sentence += f" To label new postings this way:\n\n```bash\n{command}\n```"
    return sentence


def _metrics_table(results: Sequence[dict[str, Any]]) -> list[str]:
    out = [
        "| model | n | accuracy | macro-F1 | weighted-F1 | ECE | top-2 | threshold @ precision |"
        " coverage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        cov = m["coverage"]
        out.append(
            f"| {m['model']} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
            f"{m['weighted_f1']:.3f} | {m['ece']:.3f} | {m['top2_accuracy']:.3f} | "
            f"{_fmt(cov['threshold'])} @ {cov['target_precision']:.2f} | {_fmt(cov['coverage'])} |"
        )
    return out


def _group_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """A '## By <group column>' section: macro-F1 / accuracy / ECE per group and model."""
    if "groups" not in results[0]:
        return []
    names = [m["model"] for m in results]
    out = [
        f"## By {results[0]['data']['group_column']}",
        "",
        "Each cell: macro-F1 / accuracy / ECE on that group's rows (macro-F1 over the roles with"
        f" at least {results[0]['min_support']} rows there).",
        "",
        "| group | n | " + " | ".join(names) + " |",
        "|---|---:|" + "---|" * len(names),
    ]
    for group, g in results[0]["groups"].items():
        cells = (
            "{macro_f1:.3f} / {accuracy:.3f} / {ece:.3f}".format(**m["groups"][group])
            for m in results
        )
        out.append(f"| {group} | {g['n']} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _per_label_comparison(results: Sequence[dict[str, Any]]) -> list[str]:
    names = [m["model"] for m in results]
    out = [
        "| role | support | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for lab, v in results[0]["per_label"].items():
        f1s = " | ".join(f"{m['per_label'][lab]['f1']:.3f}" for m in results)
        out.append(f"| {lab} | {v['support']} | {f1s} |")
    excluded = results[0]["excluded_labels"]
    if excluded:
        out += ["", f"Excluded from macro-F1 (too few rows): {', '.join(excluded)}."]
    return out


def _folder_names(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        base = Path(name.rstrip("/\\")).name or "model"
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "model"
        candidate, k = slug, 2
        while candidate in out:
            candidate, k = f"{slug}_{k}", k + 1
        out.append(candidate)
    return out
