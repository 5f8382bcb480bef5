"""The decision rules on top of the head's probabilities: one owner for each.

:func:`abstain` is the one abstain rule: a row whose best role (any label but Other) is below a
threshold is labelled Other. The model's own ``other_threshold``, ``label-csv --min-confidence``
and ``evaluate``'s coverage curve all apply it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "REVIEW_BANDS",
    "abstain",
    "best_role",
    "fit_review",
    "margins",
    "review_band",
    "wilson_lower",
]


def best_role(proba: np.ndarray, other: int) -> np.ndarray:
    """Each row's highest probability among the labels that are not Other (column ``other``).

    Example:
        >>> best_role(np.array([[0.2, 0.5, 0.3]]), other=1)
        array([0.3])
    """
    proba = np.asarray(proba, dtype=float)
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    return np.delete(proba, other, axis=1).max(axis=1)


def abstain(proba: np.ndarray, other: int, threshold: float | None) -> np.ndarray:
    """Label indices: the arg-max, or ``other`` where the best role is below ``threshold``.

    Args:
        proba: probabilities, one row per posting, one column per label.
        other: the column of the Other label.
        threshold: the least probability a role needs to be given (0 or None: no abstaining).

    Example:
        >>> p = np.array([[0.7, 0.3], [0.45, 0.55], [0.55, 0.45]])  # columns: role, Other
        >>> abstain(p, other=1, threshold=0.6).tolist()
        [0, 1, 1]
    """
    proba = np.asarray(proba, dtype=float)
    idx = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=int)
    if not threshold:
        return idx
    return np.where(best_role(proba, other) < threshold, other, idx)


REVIEW_BANDS = ("auto", "review")
"""``auto``: trust the answer; ``review``: a person should check it (the coders' review flag)."""


def margins(proba: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's probability of its decided label, and that minus the best other label's.

    Example:
        >>> c, m = margins(np.array([[0.7, 0.2, 0.1]]), np.array([0]))
        >>> round(float(c[0]), 2), round(float(m[0]), 2)
        (0.7, 0.5)
    """
    proba = np.asarray(proba, dtype=float)
    rows = np.arange(len(proba))
    conf = proba[rows, labels]
    others = proba.copy()
    others[rows, labels] = -np.inf
    runner = others.max(axis=1) if proba.shape[1] > 1 else np.zeros(len(proba))
    return conf, conf - runner


def review_band(
    proba: np.ndarray, labels: np.ndarray, min_confidence: float, min_margin: float
) -> np.ndarray:
    """The one review rule: ``auto`` where the decided label's calibrated probability is at
    least ``min_confidence`` and leads the runner-up by at least ``min_margin``, else ``review``.

    Example:
        >>> p = np.array([[0.97, 0.02, 0.01], [0.6, 0.35, 0.05]])
        >>> review_band(p, np.array([0, 0]), 0.9, 0.5).tolist()
        ['auto', 'review']
    """
    conf, margin = margins(proba, labels)
    auto = (conf >= min_confidence) & (margin >= min_margin)
    return np.where(auto, REVIEW_BANDS[0], REVIEW_BANDS[1])


def fit_review(
    proba: np.ndarray,
    labels: np.ndarray,
    y: np.ndarray,
    precision: float = 0.95,
    z: float = 0.0,
) -> tuple[float, float, dict[str, float]]:
    """Thresholds of :func:`review_band` found on held-out rows: of the (confidence, margin)
    pairs whose ``auto`` rows reach ``precision``, the one that puts the most rows in ``auto``.

    Args:
        proba: held-out calibrated probabilities.
        labels: the label indices the model decided for them.
        y: their true label indices.
        precision: the accuracy the ``auto`` rows must reach.
        z: judge each pair by the Wilson lower bound of its precision, ``z`` standard errors
            below the observed one (0: the observed precision). On a few dozen rows the pair
            that happens to be right on 19 of 20 is otherwise taken for a 95% band; with
            thousands of rows the bound is within a point of the observed precision.

    Returns:
        (min_confidence, min_margin, {"precision", "coverage", "n"}: what the pair reached on
        these rows). When no pair reaches the target, the strictest pair is returned.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.55, 0.45], [0.6, 0.4]])
        >>> c, m, reached = fit_review(p, np.zeros(4, dtype=int), np.array([0, 0, 1, 1]), 1.0)
        >>> (review_band(p, np.zeros(4, dtype=int), c, m) == "auto").tolist(), reached["precision"]
        ([True, True, False, False], 1.0)
        >>> # two right answers do not show 90% one standard error down: the strictest pair
        >>> fit_review(p, np.zeros(4, dtype=int), np.array([0, 0, 1, 1]), 0.9, z=1.0)[2]
        {'precision': 1.0, 'coverage': 0.25, 'n': 4}
    """
    conf, margin = margins(proba, labels)
    right = np.asarray(labels) == np.asarray(y)
    qs = np.linspace(0, 1, 41)
    cs = np.unique(np.r_[0.0, np.quantile(conf, qs)]) if len(conf) else np.array([1.0])
    ms = np.unique(np.r_[0.0, np.quantile(margin, qs)]) if len(conf) else np.array([1.0])
    auto = (conf[None, None, :] >= cs[:, None, None]) & (margin[None, None, :] >= ms[None, :, None])
    n_auto = auto.sum(axis=2)
    hits = (auto & right[None, None, :]).sum(axis=2)
    prec = np.where(n_auto > 0, hits / np.maximum(n_auto, 1), 0.0)
    ok = (wilson_lower(hits, n_auto, z) >= precision - 1e-12) & (n_auto > 0)
    if ok.any():
        score = np.where(ok, n_auto, -1)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    else:
        i, j = len(cs) - 1, len(ms) - 1
    n = max(len(conf), 1)
    reached = {
        "precision": round(float(prec[i, j]), 4),
        "coverage": round(float(n_auto[i, j] / n), 4),
    }
    return round(float(cs[i]), 6), round(float(ms[j]), 6), {**reached, "n": len(conf)}


def wilson_lower(hits: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """The Wilson score interval's lower end for ``hits`` successes of ``n`` (0 where n is 0);
    ``z`` 0 gives the observed proportion.

    Example:
        >>> round(float(wilson_lower(np.array(19), np.array(20), 1.0)), 3)
        0.876
    """
    n = np.asarray(n, dtype=float)
    m = np.maximum(n, 1)
    p = np.asarray(hits, dtype=float) / m
    centre = p + z * z / (2 * m)
    spread = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    return np.where(n > 0, (centre - spread) / (1 + z * z / m), 0.0)
