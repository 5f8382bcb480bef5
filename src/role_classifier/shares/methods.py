"""The five share methods (cc, pcc, acc, pacc, em) and their bootstrap intervals, in numpy.

One code path computes a point estimate (one replicate with unit weights) and the bootstrap (B
replicates with resampling weights); see :mod:`role_classifier.shares` for which to use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import UserError
from ..modeling.held_out import HeldOut

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_METHOD",
    "INTERVALS",
    "METHODS",
    "MIN_GROUP",
    "N_BOOT",
    "SharesInputError",
    "acc",
    "bootstrap_shares",
    "cc",
    "em",
    "pacc",
    "pcc",
    "shift_interval",
]

METHODS = ("cc", "pcc", "acc", "pacc", "em")
# chosen by benchmarks/bench_shares.py on the real postings' test split (four sources, three never
# trained on): classify and count had the lowest mean per-source error of the five, reading
# descriptions alone (0.062; pcc 0.065, acc 0.069, pacc 0.071, em 0.105) and with titles (0.016;
# the others 0.021-0.027). Those errors come from postings that read differently from the
# training ones (dataset shift), which no prior-shift correction fixes; em and pacc win only when
# a feed differs from the training data in its role mix alone (the benchmark's --control).
DEFAULT_METHOD = "cc"
INTERVALS = ("shift", "sampling")
"""``sampling``: the bootstrap of the method alone (postings, and the held-out rows where the
method uses them); it carries the sampling error, not the classifier's. ``shift``: the hull of
that interval and those of ``cc`` and ``em``. A feed can differ from the training data in its
role mix only (prior shift: ``em`` is right, ``cc`` is biased towards the training mix) or in
how its postings read (``cc``'s errors may then cancel as they did in training, and ``em`` is
the one misled); the data cannot tell which, so the interval spans both readings, each with its
sampling error (bounds under two identifying assumptions, in the manner of partial
identification). Measured by ``benchmarks/bench_shares.py`` (see :data:`DEFAULT_INTERVAL`)."""
# benchmarks/bench_shares.py on the v6 default: nominal 90% intervals of 100-500 shifted test
# postings; see docs/results.md, Role shares, for the table
DEFAULT_INTERVAL = "shift"
MIN_GROUP = 30
"""groups (and periods) with fewer postings get a note: their share is given but marked."""
N_BOOT = 300
"""bootstrap replicates: enough for 90% percentile intervals, seconds for 100,000 postings."""


class SharesInputError(UserError):
    """A feed or held-out data that shares cannot be estimated from; the message is one line."""


# -- the methods: one point estimate each --------------------------------------------------------
def cc(proba: np.ndarray, held_out: HeldOut | None = None, titled: Any = False) -> np.ndarray:
    """Classify and count: the share of postings decided as each role.

    Args:
        proba: (n, k) calibrated probabilities of the feed's postings.
        held_out: the model's held-out data; only its decision rule (Other threshold) is used,
            plain arg-max without it.
        titled: unused (the same signature as the other methods).

    Returns:
        (k,) shares that sum to 1.

    Example:
        >>> cc(np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2]]))
        array([0.66666667, 0.33333333])
    """
    return _estimate("cc", _matrix(proba), _flags(titled, len(proba)), held_out)[0]


def pcc(proba: np.ndarray, held_out: HeldOut | None = None, titled: Any = False) -> np.ndarray:
    """Probabilistic classify and count: the mean calibrated probability of each role.

    Example:
        >>> pcc(np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2]]))
        array([0.7, 0.3])
    """
    return _estimate("pcc", _matrix(proba), _flags(titled, len(proba)), held_out)[0]


def acc(proba: np.ndarray, held_out: HeldOut, titled: Any = False) -> np.ndarray:
    """Adjusted classify and count: the shares ``s`` on the simplex that minimise
    ``|M.T @ s - counted|``, with ``M[t, p]`` the held-out P(decided p | true t).

    Args:
        proba: (n, k) calibrated probabilities.
        held_out: the model's held-out data (its confusion matrix).
        titled: (n,) whether each posting was scored with a title, or one bool for all: the
            confusion matrix is that of the held-out rows of the same kind, mixed in the feed's
            proportion.

    Example:
        >>> acc(proba, HeldOut.load("models/mine"), titled=False)  # doctest: +SKIP
    """
    return _estimate("acc", _matrix(proba), _flags(titled, len(proba)), held_out)[0]


def pacc(proba: np.ndarray, held_out: HeldOut, titled: Any = False) -> np.ndarray:
    """Probabilistic adjusted count: :func:`acc` with mean probabilities in place of counts
    (``M[t, :]`` the mean held-out probabilities of true class t)."""
    return _estimate("pacc", _matrix(proba), _flags(titled, len(proba)), held_out)[0]


def em(proba: np.ndarray, held_out: HeldOut, titled: Any = False) -> np.ndarray:
    """Saerens-Latinne-Decaestecker EM: the priors ``s`` that are the mean of the feed's
    probabilities re-weighted by ``s / training prior`` (the training prior is the held-out
    label mix). It uses the calibrated probabilities as they are, so ``titled`` is unused."""
    return _estimate("em", _matrix(proba), _flags(titled, len(proba)), held_out)[0]


def bootstrap_shares(
    proba: np.ndarray,
    method: str = DEFAULT_METHOD,
    held_out: HeldOut | None = None,
    titled: Any = False,
    *,
    confidence: float = 0.9,
    n_boot: int = N_BOOT,
    seed: int | Sequence[int] = 0,
    interval: str = "sampling",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A method's shares with percentile bootstrap intervals.

    Each replicate resamples the postings with replacement and, for ``acc``, ``pacc`` and
    ``em``, the held-out rows too (within each view), so the intervals carry the uncertainty
    of the correction as well as that of the sample. With ``interval="shift"`` the interval
    also spans the two readings of how a feed differs from the training data (see
    :data:`INTERVALS`): it is the hull of the method's, ``cc``'s and ``em``'s intervals.

    Args:
        proba: (n, k) calibrated probabilities of the postings.
        method: one of :data:`METHODS`.
        held_out: the model's held-out data (needed by acc, pacc and em, and by ``shift``).
        titled: (n,) whether each posting was scored with a title, or one bool for all.
        confidence: the coverage of the interval (0.9: the 5th to the 95th percentile).
        n_boot: bootstrap replicates.
        seed: seeds the resampling.
        interval: one of :data:`INTERVALS`.

    Returns:
        share, low, high: three (k,) arrays.

    Example:
        >>> share, low, high = bootstrap_shares(proba, "cc", held, interval="shift")  # doctest: +SKIP
    """
    if interval not in INTERVALS:
        raise SharesInputError(f"unknown interval {interval!r}: one of {', '.join(INTERVALS)}")
    if interval == "shift":
        if held_out is None:
            raise SharesInputError(
                "interval 'shift' needs the model's held-out data (held_out.safetensors); "
                "without it use interval 'sampling'"
            )
        found = {
            m: bootstrap_shares(
                proba, m, held_out, titled, confidence=confidence, n_boot=n_boot, seed=seed
            )
            for m in dict.fromkeys((method, "cc", "em"))
        }
        return shift_interval(found, method)
    if not 0 < confidence < 1:
        raise SharesInputError(f"confidence must be between 0 and 1, not {confidence}")
    proba = _matrix(proba)
    titled = _flags(titled, len(proba))
    share = _estimate(method, proba, titled, held_out)[0]
    if n_boot <= 0 or not len(proba):
        return share, share.copy(), share.copy()
    rng = np.random.default_rng(seed)
    feed_w = _resample_counts(rng, np.zeros(len(proba), int), n_boot)
    held_w = None
    if method in ("acc", "pacc", "em") and held_out is not None:
        held_w = _resample_counts(rng, held_out.titled.astype(int), n_boot)
    reps = _estimate(method, proba, titled, held_out, feed_w, held_w)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha], axis=0)
    return share, np.minimum(low, share), np.maximum(high, share)


def shift_interval(
    found: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``interval="shift"`` from sampling intervals already computed: ``method``'s share, and
    the hull of its, ``cc``'s and ``em``'s intervals (``found[m]`` is ``(share, low, high)``).

    Example:
        >>> share, low, high = shift_interval({m: bootstrap_shares(p, m, held)
        ...                                    for m in ("cc", "em")}, "cc")  # doctest: +SKIP
    """
    share, low, high = found[method]
    for other in ("cc", "em"):
        low, high = np.minimum(low, found[other][1]), np.maximum(high, found[other][2])
    return share, low, high


def _matrix(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise SharesInputError(f"probabilities must be (n, k), not shape {proba.shape}")
    return proba


def _flags(titled: Any, n: int) -> np.ndarray:
    flags = np.asarray(titled, dtype=bool)
    if flags.ndim == 0:
        return np.full(n, bool(flags))
    if flags.shape != (n,):
        raise SharesInputError(f"titled has shape {flags.shape}, expected ({n},) or one bool")
    return flags


def _resample_counts(rng: np.random.Generator, strata: np.ndarray, n_boot: int) -> np.ndarray:
    """(n_boot, n) multinomial bootstrap counts: each replicate draws, within each stratum, as
    many rows as the stratum has, with replacement."""
    n = len(strata)
    counts = np.zeros((n_boot, n), dtype=np.uint16 if n < 65536 else np.uint32)
    for value in np.unique(strata):
        rows = np.flatnonzero(strata == value)
        step = max(1, 2_000_000 // len(rows))  # replicates per draw: ~16 MB of indices
        for b0 in range(0, n_boot, step):
            b1 = min(n_boot, b0 + step)
            picks = rows[rng.integers(0, len(rows), size=(b1 - b0, len(rows)))]
            flat = (picks + n * np.arange(b1 - b0)[:, None]).ravel()
            counts[b0:b1] += (
                np.bincount(flat, minlength=(b1 - b0) * n).reshape(b1 - b0, n).astype(counts.dtype)
            )
    return counts


def _estimate(
    method: str,
    proba: np.ndarray,
    titled: np.ndarray,
    held: HeldOut | None,
    feed_w: np.ndarray | None = None,
    held_w: np.ndarray | None = None,
) -> np.ndarray:
    """Shares (B, k) under B weightings of the postings (``feed_w``, (B, n); one replicate of
    unit weights when None) and of the held-out rows (``held_w``, (B, m)): the one code path of
    point estimates and bootstrap replicates."""
    from threadpoolctl import threadpool_limits

    # skinny products (k = 8 columns): one BLAS thread is several times faster than a pool
    with threadpool_limits(limits=1):
        return _estimate_unlimited(method, proba, titled, held, feed_w, held_w)


def _estimate_unlimited(
    method: str,
    proba: np.ndarray,
    titled: np.ndarray,
    held: HeldOut | None,
    feed_w: np.ndarray | None,
    held_w: np.ndarray | None,
) -> np.ndarray:
    if method not in METHODS:
        raise SharesInputError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    if held is None and method in ("acc", "pacc", "em"):
        raise SharesInputError(
            f"method {method!r} needs the model's held-out data (held_out.safetensors in a "
            "model folder saved by `role-classifier train`); without it use 'cc' or 'pcc'"
        )
    n, k = proba.shape
    if held is not None and k != len(held.labels):
        raise SharesInputError(f"{k} probability columns, but the held-out has {len(held.labels)}")
    if feed_w is None:
        feed_w = np.ones((1, n))
    if held is not None and held_w is None:
        held_w = np.ones((len(feed_w), len(held)))
    if method == "cc" or method == "acc":
        decided = held.decide(proba) if held is not None else proba.argmax(axis=1)
        signal = np.eye(k)[decided]
    else:
        signal = proba
    if method in ("cc", "pcc", "acc", "pacc"):
        counted = _normalise(_weighted_sum(feed_w, signal))
        if method in ("cc", "pcc"):
            return counted
        held_signal = np.eye(k)[held.decide(held.proba)] if method == "acc" else held.proba
        titled_fraction = _weighted_sum(feed_w, titled[:, None] * 1.0)[:, 0] / np.maximum(
            feed_w.sum(axis=1, dtype=np.float64), 1e-300
        )
        rates = _rates(held, held_signal, held_w, titled_fraction)
        return _solve_simplex(rates, counted)
    prior = _normalise(held_w @ np.eye(k)[held.y])
    return _em(proba, feed_w, prior)


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``weights @ values`` in float64, in column chunks of the weights (bounded memory)."""
    out = np.zeros((len(weights), values.shape[1]))
    step = max(1, 4_000_000 // max(len(weights), 1))
    for c0 in range(0, weights.shape[1], step):
        out += weights[:, c0 : c0 + step].astype(np.float64) @ values[c0 : c0 + step]
    return out


def _normalise(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=-1, keepdims=True)
    return np.divide(x, total, out=np.full_like(x, 1.0 / x.shape[-1]), where=total > 0)


def _rates(
    held: HeldOut, signal: np.ndarray, held_w: np.ndarray, titled_fraction: np.ndarray
) -> np.ndarray:
    """(B, k, k) ``M[t, p]``: the weighted mean held-out signal (one-hot decision or
    probabilities) of true class t, per view (with a title, without), mixed in the feed's
    proportion of titled postings (``titled_fraction``, (B,))."""
    k = len(held.labels)
    onehot = np.eye(k)[held.y]
    joint = (onehot[:, :, None] * signal[:, None, :]).reshape(len(held), k * k)
    out = np.zeros((len(held_w), k, k))
    for view, fraction in ((True, titled_fraction), (False, 1.0 - titled_fraction)):
        if not np.any(fraction > 0):
            continue
        rows = held.titled == view
        if not rows.any():
            kind = "with a title" if view else "from descriptions alone"
            raise SharesInputError(
                f"the feed has postings scored {kind}, but the held-out data has none"
            )
        w = held_w[:, rows].astype(np.float64)
        count = w @ onehot[rows]  # (B, k)
        mean = (w @ joint[rows]).reshape(-1, k, k)
        # a class a replicate did not draw keeps the unresampled rate; an absent one, identity
        base = onehot[rows].sum(axis=0)[:, None]
        base_rate = np.divide(
            joint[rows].sum(axis=0).reshape(k, k), base, out=np.eye(k), where=base > 0
        )
        drawn = count[:, :, None] > 0
        rate = np.where(drawn, mean / np.where(drawn, count[:, :, None], 1.0), base_rate)
        out += fraction[:, None, None] * rate
    return out


def _solve_simplex(rates: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Per replicate, the shares ``s >= 0``, ``sum(s) = 1`` minimising ``|rates.T @ s -
    counted|``: non-negative least squares with the sum as one more, heavily weighted,
    equation, then renormalised."""
    from scipy.optimize import nnls

    k = counted.shape[1]
    out = np.empty_like(counted)
    a = np.empty((k + 1, k))
    a[k] = _SUM_WEIGHT
    b = np.empty(k + 1)
    b[k] = _SUM_WEIGHT
    for i in range(len(counted)):
        a[:k] = rates[i].T
        b[:k] = counted[i]
        out[i] = nnls(a, b)[0]
    return _normalise(out)


_SUM_WEIGHT = 100.0
_EM_TOL = 1e-7
_EM_MAX_ITER = 2000


def _em(proba: np.ndarray, feed_w: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """SLD EM for B weightings at once: the fixed point of ``s <- mean_w(normalise(proba * s /
    prior))`` from ``s = prior``, accelerated by SQUAREM (Varadhan and Roland, 2008: two EM
    steps, an extrapolation along them when it stays inside the simplex, one more EM step),
    until an EM step moves no share by more than 1e-7; replicates stop as they converge."""
    prior = np.maximum(prior, 1e-12)
    share = prior.copy()
    total = feed_w.sum(axis=1, dtype=np.float64)
    step = max(1, 2_000_000 // max(len(feed_w), 1))  # rows per chunk: (rows, B) temporaries

    def em_step(x: np.ndarray, reps: np.ndarray) -> np.ndarray:
        ratio = x / prior[reps]  # (a, k)
        acc = np.zeros_like(ratio)
        for c0 in range(0, len(proba), step):
            p = proba[c0 : c0 + step]
            w = feed_w[reps, c0 : c0 + step].astype(np.float64)  # (a, c)
            z = p @ ratio.T  # (c, a): each posting's normaliser under each replicate
            acc += (w / np.maximum(z.T, 1e-300)) @ p
        return ratio * acc / total[reps, None]

    active = np.flatnonzero(total > 0)
    for _ in range(_EM_MAX_ITER // 3):
        if not len(active):
            break
        x0 = share[active]
        x1 = em_step(x0, active)
        x2 = em_step(x1, active)
        done = np.abs(x2 - x1).max(axis=1) <= _EM_TOL
        r, v = x1 - x0, x2 - 2 * x1 + x0
        alpha = -np.sqrt((r * r).sum(axis=1) / np.maximum((v * v).sum(axis=1), 1e-300))
        alpha = np.minimum(alpha, -1.0)[:, None]  # -1 is the plain second EM step
        jump = x0 - 2 * alpha * r + alpha**2 * v
        outside = (jump <= 0).any(axis=1)
        jump[outside] = x2[outside]
        share[active[done]] = x2[done]
        active = active[~done]
        share[active] = em_step(jump[~done], active)  # an EM step keeps it on the simplex
    return _normalise(share)
