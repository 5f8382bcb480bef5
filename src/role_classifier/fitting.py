"""Fitting the head: an anchored logistic regression and a softmax temperature.

:func:`fit_head` fits a linear head over the feature vector (:mod:`.modeling.features`) whose L2
penalty pulls towards the zero-shot scorer; :func:`fit_temperature` calibrates its scores.
:mod:`role_classifier.training` runs both on encoded postings.
"""

from __future__ import annotations

import numpy as np

from .modeling.features import FeatureLayout
from .training_config import TrainConfig

__all__ = ["fit_head", "fit_temperature"]


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    layout: FeatureLayout,
    config: TrainConfig,
    anchor: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fit a standardised multinomial logistic regression (classes weighted by ``class_weight``).

    Args:
        layout: where the embeddings and score blocks sit in ``x`` (:attr:`RoleClassifier.layout`).
        anchor: raw-space weights (L, F) the L2 penalty pulls towards instead of zero (the
            zero-shot scorer, :meth:`RoleClassifier.zero_shot_head`): with little data the
            head stays the zero-shot model, and it moves away only where the data insist.

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
    return _fit_anchored(xs, y, n_labels, config, mean, std, anchor)


def _fit_anchored(
    xs: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    config: TrainConfig,
    mean: np.ndarray,
    std: np.ndarray,
    anchor: np.ndarray,
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression with penalty ``0.5 * ||W - W0||^2``, by L-BFGS.

    Same objective as scikit-learn's ``LogisticRegression`` (``C * sum(weighted log-loss) +
    penalty``, bias not penalised), but centred on the anchor ``W0``, which scikit-learn cannot
    do; with ``W0 = 0`` it is plain L2 logistic regression.
    """
    from scipy.optimize import minimize
    from sklearn.utils.class_weight import compute_sample_weight

    n, f = xs.shape
    finite = np.isfinite(std)
    w0 = np.where(finite, anchor * np.where(finite, std, 0.0), 0.0)  # anchor in scaled space
    b0 = anchor @ np.where(finite, mean, 0.0)
    onehot = np.eye(n_labels)[y]
    sw = (
        np.ones(n)
        if config.class_weight == "none"
        else compute_sample_weight(config.class_weight, y)
    )

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: n_labels * f].reshape(n_labels, f)
        b = theta[n_labels * f :]
        z = xs @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -config.c * float((sw * (onehot * logp).sum(axis=1)).sum())
        diff = w - w0
        loss += 0.5 * float((diff**2).sum())
        g = config.c * (sw[:, None] * (np.exp(logp) - onehot))
        grad_w = g.T @ xs + diff
        return loss, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    theta0 = np.concatenate([w0.ravel(), b0])
    res = minimize(
        objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": config.max_iter}
    )
    w = res.x[: n_labels * f].reshape(n_labels, f)
    b = res.x[n_labels * f :]
    weight = np.where(finite, w / np.where(finite, std, 1.0), 0.0)
    bias = b - weight @ np.where(finite, mean, 0.0)
    return {"weight": weight.astype(np.float32), "bias": bias.astype(np.float32)}


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising negative log-likelihood on held-out rows."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        return _log_loss(logits / np.exp(log_t), y)

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))
