"""Fitting a head: the anchored logistic regression and the softmax temperature.

One owner for both callers: :mod:`role_classifier.training` fits a head from scratch (anchored on
the zero-shot scorer), and :mod:`.adapt` refits one from a user's corrections (anchored on the
base model's own head, its bias too). Both standardise the features, scale the embedding blocks
against the score blocks, and solve the same objective by L-BFGS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .features import FeatureLayout

__all__ = ["HeadSettings", "fit_head", "fit_temperature", "log_loss", "source_weights"]


class HeadSettings(Protocol):
    """What :func:`fit_head` reads from its settings (``TrainConfig`` has them all)."""

    c: float
    class_weight: str
    max_iter: int
    title_embedding_scale: float
    embedding_scale: float


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    layout: FeatureLayout,
    config: HeadSettings,
    anchor: np.ndarray | None = None,
    *,
    anchor_bias: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    init: dict[str, np.ndarray] | None = None,
    tol: float | None = None,
) -> dict[str, np.ndarray]:
    """Fit a standardised, class-balanced multinomial logistic regression.

    Args:
        layout: where the embeddings and score blocks sit in ``x`` (:attr:`RoleClassifier.layout`).
        anchor: raw-space weights (L, F) the L2 penalty pulls towards instead of zero (the
            zero-shot scorer, :meth:`RoleClassifier.zero_shot_head`): with little data the
            head stays the zero-shot model, and it moves away only where the data insist.
        anchor_bias: raw-space bias (L,) the penalty also pulls towards (None: the bias is
            free, as in training). Adapting anchors it on the base head's bias, so a role that
            no correction names keeps its prior instead of being driven to zero.
        sample_weight: per row, multiplies its loss (on top of ``class_weight``).
        init: a raw-space head (``{"weight", "bias"}``) the solver starts from instead of the
            anchor: the same optimum, reached in fewer steps when ``init`` is near it (adapting
            starts from the base's head, which is the optimum without the corrections).
        tol: stop when an L-BFGS step lowers the objective by less than this fraction
            (scipy's ``ftol``; None: scipy's 2.2e-9, as ``train`` fits).

    Returns:
        ``{"weight": (L, F), "bias": (L,)}`` acting on raw features (the scaler is folded in).
    """
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-6] = 1.0
    n_labels = layout.n_labels
    scale = np.ones(x.shape[1])
    scale[layout.title_embedding] = config.title_embedding_scale
    scale[layout.mean_embedding] = config.embedding_scale
    std = std / np.maximum(scale, 1e-12)
    std[scale == 0] = np.inf  # weights of a block scaled to 0 come out exactly 0
    xs = (x - mean) / std
    if anchor is None:
        anchor = np.zeros((n_labels, x.shape[1]))
    sw = _sample_weights(y, config.class_weight, sample_weight)
    return _fit_anchored(xs, y, n_labels, config, mean, std, anchor, anchor_bias, sw, init, tol)


def _sample_weights(y: np.ndarray, class_weight: str, extra: np.ndarray | None) -> np.ndarray:
    """Row weights: ``extra`` (e.g. :func:`source_weights`) times the class weights; 'balanced'
    is scikit-learn's inverse frequency, counted on the ``extra``-weighted rows."""
    sw = np.ones(len(y)) if extra is None else np.asarray(extra, dtype=float)
    if class_weight == "balanced":
        per_class = np.bincount(y, weights=sw)
        present = int((np.bincount(y) > 0).sum())
        sw = sw * (sw.sum() / (present * np.maximum(per_class, 1e-12)))[y]
    return sw


def source_weights(sources: Sequence[str], balance: float) -> np.ndarray | None:
    """Per-row weights that balance training sources: ``n ** -balance`` for a source of ``n``
    rows, rescaled to average 1; None when ``balance`` is 0 (every row counts once).

    Example:
        >>> source_weights(["a", "a", "a", "b"], 1.0).round(2).tolist()
        [0.67, 0.67, 0.67, 2.0]
    """
    if balance == 0:
        return None
    counts = Counter(sources)
    w = np.array([counts[s] ** -balance for s in sources], dtype=float)
    return w * (len(w) / w.sum())


def _fit_anchored(
    xs: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    config: HeadSettings,
    mean: np.ndarray,
    std: np.ndarray,
    anchor: np.ndarray,
    anchor_bias: np.ndarray | None,
    sw: np.ndarray,
    init: dict[str, np.ndarray] | None = None,
    tol: float | None = None,
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression with penalty ``0.5 * ||W - W0||^2``, by L-BFGS.

    Same objective as scikit-learn's ``LogisticRegression`` (``C * sum(weighted log-loss) +
    penalty``, bias not penalised unless ``anchor_bias`` is given), but centred on the anchor
    ``W0``, which scikit-learn cannot do; with ``W0 = 0`` it is plain L2 logistic regression.
    """
    from scipy.optimize import minimize

    f = xs.shape[1]
    finite = np.isfinite(std)
    std_f, mean_f = np.where(finite, std, 0.0), np.where(finite, mean, 0.0)

    def scaled(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A raw-space weight matrix in the standardised space, and its share of the bias."""
        w = np.asarray(weight, dtype=float)
        return np.where(finite, w * std_f, 0.0), w @ mean_f

    w0, b0 = scaled(anchor)
    if anchor_bias is not None:
        b0 = b0 + np.asarray(anchor_bias, dtype=float)
    bias_penalty = 0.0 if anchor_bias is None else 1.0
    onehot = np.eye(n_labels)[y]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: n_labels * f].reshape(n_labels, f)
        b = theta[n_labels * f :]
        z = xs @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -config.c * float((sw * (onehot * logp).sum(axis=1)).sum())
        diff, bdiff = w - w0, b - b0
        loss += 0.5 * float((diff**2).sum()) + 0.5 * bias_penalty * float((bdiff**2).sum())
        g = config.c * (sw[:, None] * (np.exp(logp) - onehot))
        grad_w = g.T @ xs + diff
        grad_b = g.sum(axis=0) + bias_penalty * bdiff
        return loss, np.concatenate([grad_w.ravel(), grad_b])

    theta0 = np.concatenate([w0.ravel(), b0])
    if init is not None:
        wi, bi = scaled(init["weight"])
        theta0 = np.concatenate([wi.ravel(), bi + np.asarray(init["bias"], dtype=float)])
    options: dict[str, float] = {"maxiter": config.max_iter}
    if tol is not None:
        options["ftol"] = tol
    res = minimize(objective, theta0, jac=True, method="L-BFGS-B", options=options)
    w = res.x[: n_labels * f].reshape(n_labels, f)
    b = res.x[n_labels * f :]
    weight = np.where(finite, w / np.where(finite, std, 1.0), 0.0)
    bias = b - weight @ mean_f
    return {"weight": weight.astype(np.float32), "bias": bias.astype(np.float32)}


def log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels under softmax(``logits``)."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising negative log-likelihood on held-out rows."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        return log_loss(logits / np.exp(log_t), y)

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))
