"""Metrics from true labels and probabilities: no model, no file, only numpy and scikit-learn.

:func:`compute_metrics` gives the metric keys of the JSON schema (see
:mod:`role_classifier.evaluation.schema`); :func:`group_metrics` the headline ones per group.
The coverage curve abstains with the model's own rule, :func:`role_classifier.modeling.head.abstain`.

Example:
    >>> import numpy as np
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.5, 0.2, 0.3]])
    >>> m = compute_metrics(["A", "B", "C"], proba, ["A", "B", "C"])
    >>> m["accuracy"], m["top2_accuracy"], m["per_label"]["C"]["recall"]
    (0.666667, 1.0, 0.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from ..modeling.head import abstain, best_role
from .schema import EvaluationError

__all__ = [
    "GROUP_KEYS",
    "calibration_bins",
    "compute_metrics",
    "coverage_curve",
    "expected_calibration_error",
    "group_metrics",
]

GROUP_KEYS = ("n", "accuracy", "macro_f1", "macro_f1_labels", "weighted_f1", "ece", "top2_accuracy")


# -- calibration -------------------------------------------------------------------------------
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


# -- coverage ----------------------------------------------------------------------------------
def coverage_curve(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    other_index: int,
    target_precision: float = 0.9,
    max_points: int = 200,
) -> dict[str, Any]:
    """Coverage, precision and accuracy when rows below a threshold abstain to Other.

    At threshold ``t`` the rows are labelled by :func:`role_classifier.modeling.head.abstain`,
    the rule ``ModelConfig.other_threshold`` and ``label-csv --min-confidence`` apply: the
    arg-max, unless the best non-Other probability is below ``t`` (then Other). Coverage is
    the share of rows given a non-Other role, precision the share of those that are right,
    accuracy the overall accuracy with the abstaining rows labelled Other.

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

    def point(t: float) -> dict[str, Any]:
        return _coverage_point(y, abstain(proba, other_index, t), other_index, t)

    confidence, ends, reached = _sweep(y, proba, other_index, target_precision)
    found: dict[str, Any] = dict.fromkeys(("threshold", "coverage", "precision", "accuracy"))
    if len(reached):  # the most rows covered at the target; 0 when no abstaining is needed
        found = point(0.0 if reached[-1] == ends[-1] else float(confidence[reached[-1]]))
    if len(ends) > max_points:
        ends = ends[np.unique(np.linspace(0, len(ends) - 1, max_points).round().astype(int))]
    thresholds = [0.0, *sorted({float(confidence[j]) for j in ends} - {0.0})]
    points = [point(t) for t in thresholds]
    return {"target_precision": _r(target_precision), **found, "points": points}


def _sweep(
    y: np.ndarray, proba: np.ndarray, other: int, target_precision: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thresholds worth trying, found in one sorted pass.

    Returns ``(confidence, ends, reached)``: the best-role probabilities of the rows given a
    role at threshold 0, most confident first; for each distinct value, the position of the
    last row tied with it (a threshold equal to it covers every row up to there); and those
    positions where the precision of the rows covered reaches ``target_precision``.
    """
    decided = abstain(proba, other, None)
    given = decided != other
    best = best_role(proba, other)[given]
    order = np.argsort(-best, kind="stable")
    confidence = best[order]
    hits = np.cumsum((decided == y)[given][order])
    if len(confidence):
        ends = np.flatnonzero(np.r_[confidence[1:] != confidence[:-1], True])
    else:
        ends = np.zeros(0, dtype=int)
    reached = ends[hits[ends] >= (target_precision - 1e-12) * (ends + 1)]
    return confidence, ends, reached


def _coverage_point(y: np.ndarray, decided: np.ndarray, other: int, t: float) -> dict[str, Any]:
    """One point of the curve from the labels ``decided`` at threshold ``t``."""
    n = len(y)
    covered = decided != other
    right = decided == y
    k = int(covered.sum())
    return {
        "threshold": _r(t),
        "coverage": _r(k / n) if n else None,
        "precision": _r(int((right & covered).sum()) / k) if k else None,
        "accuracy": _r(int(right.sum()) / n) if n else None,
    }


# -- all metrics -------------------------------------------------------------------------------
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
        The metric keys of the JSON schema: ``n``, ``accuracy``, ``macro_f1``,
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
    y = _label_indices(y_true, proba, labels)
    pred = proba.argmax(axis=1) if predicted is None else np.asarray(predicted, dtype=int)
    every = list(range(len(labels)))
    per_label = _per_label(y, pred, labels)
    included = [i for i, lab in enumerate(labels) if per_label[lab]["support"] >= min_support]
    macro = f1_score(y, pred, labels=included, average="macro", zero_division=0) if included else 0
    confidence = proba[np.arange(len(y)), pred]
    correct = pred == y
    other = labels.index(other_label) if other_label in labels else len(labels) - 1
    return {
        "n": len(y),
        "accuracy": _r(accuracy_score(y, pred)),
        "macro_f1": _r(macro),
        "weighted_f1": _r(f1_score(y, pred, labels=every, average="weighted", zero_division=0)),
        "ece": _r(expected_calibration_error(confidence, correct, n_bins)),
        "top2_accuracy": _r(_top2(y, proba)),
        "macro_f1_labels": [labels[i] for i in included],
        "excluded_labels": [labels[i] for i in every if i not in included],
        "min_support": min_support,
        "per_label": per_label,
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y, pred, labels=every).tolist(),
        },
        "calibration": _calibration(confidence, correct, n_bins),
        "coverage": coverage_curve(y, proba, other, target_precision),
    }


def _label_indices(y_true: Sequence[str], proba: np.ndarray, labels: list[str]) -> np.ndarray:
    """The true labels as column indices, after checking rows, shape and label names."""
    n = len(y_true)
    if n == 0:
        raise EvaluationError("no rows to evaluate")
    if proba.shape != (n, len(labels)):
        raise EvaluationError(f"proba has shape {proba.shape}, expected {(n, len(labels))}")
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted(set(y_true) - set(index))
    if unknown:
        raise EvaluationError(f"labels not in the label set: {', '.join(unknown)}")
    return np.array([index[v] for v in y_true])


def _per_label(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, dict[str, Any]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=list(range(len(labels))), zero_division=0
    )
    return {
        lab: {
            "precision": _r(precision[i]),
            "recall": _r(recall[i]),
            "f1": _r(f1[i]),
            "support": int(support[i]),
        }
        for i, lab in enumerate(labels)
    }


def _calibration(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> dict[str, Any]:
    bins = calibration_bins(confidence, correct, n_bins)
    rounded = [{k: (_r(v) if isinstance(v, float) else v) for k, v in b.items()} for b in bins]
    return {"n_bins": n_bins, "bins": rounded}


def _top2(y: np.ndarray, proba: np.ndarray) -> float:
    """Top-2 accuracy; with two labels every row is trivially right (sklearn rejects that case)."""
    if proba.shape[1] <= 2:
        return 1.0
    return float(top_k_accuracy_score(y, proba, k=2, labels=list(range(proba.shape[1]))))


def _r(x: float | np.floating | None) -> float | None:
    return None if x is None else round(float(x), 6)


# -- groups ------------------------------------------------------------------------------------
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


def review_metrics(
    y_true: Sequence[str], labels: Sequence[str], predicted: np.ndarray, bands: np.ndarray
) -> dict[str, Any]:
    """Per review band (``auto``, ``review``): its share of the rows and its accuracy.

    Example:
        >>> review_metrics(["A", "B", "A"], ["A", "B"], np.array([0, 0, 0]),
        ...                np.array(["auto", "review", "auto"]))["auto"]
        {'n': 2, 'share': 0.666667, 'accuracy': 1.0}
    """
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[label] for label in y_true], dtype=int)
    right = np.asarray(predicted) == y
    bands = np.asarray(bands)
    out: dict[str, Any] = {}
    for band in ("auto", "review"):
        rows = bands == band
        k = int(rows.sum())
        out[band] = {
            "n": k,
            "share": _r(k / len(y)) if len(y) else None,
            "accuracy": _r(right[rows].mean()) if k else None,
        }
    return out
