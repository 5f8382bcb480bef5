"""The decision rules on top of the head's probabilities: one owner for each.

:func:`abstain` is the one abstain rule: a row whose best role (any label but Other) is below a
threshold is labelled Other. The model's own ``other_threshold``, ``label-csv --min-confidence``
and ``evaluate``'s coverage curve all apply it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["abstain", "best_role"]


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
