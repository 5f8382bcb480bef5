"""Role shares of a whole feed, per group and per period, with bootstrap intervals.

Counting the predicted labels (classify and count) is biased when the feed's role mix differs
from the training mix: a classifier that is right 90% of the time moves about 10% of every role's
postings to other roles, and under a different mix those errors no longer cancel. Three of the
methods here correct for that with the model's out-of-fold (held-out) scores, saved next to the
head (``held_out.safetensors``):

* ``cc``: classify and count (the share of postings whose decided role is r);
* ``pcc``: probabilistic classify and count (the mean calibrated probability of r);
* ``acc``: adjusted count: solves ``M.T @ shares = counted`` on the simplex, where ``M[t, p]`` is
  the held-out P(decided p | true t);
* ``pacc``: the same with ``M[t, :]`` the mean held-out probabilities of true class t;
* ``em``: Saerens, Latinne and Decaestecker (2002): re-weights every posting's calibrated
  probabilities by new priors / training priors until the priors are the mean of the re-weighted
  probabilities (the maximum-likelihood priors under prior shift).

These are QuaPy's CC, PCC, ACC and PACC (``solver='minimize'``, ``norm='clip'``) and EMQ, written
out here (about 150 lines) rather than depending on QuaPy and its dependencies; on synthetic
8-class data they agreed with QuaPy 0.2.3 to within 1.2e-5.

Which one to use: on the project's real postings (``benchmarks/bench_shares.py``) the feed's
postings differ from the training postings in more than their role mix, and plain counting was
the most accurate; the corrections win when only the mix differs. See :data:`DEFAULT_METHOD`.

Intervals are percentile bootstrap intervals that resample the postings of the group and (for
the methods that use them) the held-out rows. Alone (``interval="sampling"``) those of ``cc``
and ``pcc`` carry the sampling error only, not the classifier's: on a large feed they are
narrow around a biased share. The default, ``interval="shift"``, widens them to the hull of
``cc``'s and ``em``'s intervals: the shares if the model errs on the feed as it did in training,
and the shares if only the role mix moved (see :data:`INTERVALS`). Everything is numpy; one
code path computes a point estimate (one replicate with unit weights) and the bootstrap (B
replicates with resampling weights), so 100,000 postings x 8 roles take seconds.

Example:
    >>> from role_classifier.shares import estimate_shares, plot_shares
    >>> df = estimate_shares("labelled.parquet", by="country", date_column="posted",
    ...                      period="month", held_out="models/mine")  # doctest: +SKIP
    >>> df.attrs["error_rows"], df.attrs["undated_rows"]  # doctest: +SKIP
    (3, 12)
    >>> plot_shares(df, "shares.png")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._extras import require_extra
from .dates import ReadDates, period_of, read_dates
from .errors import UserError
from .labelling.options import SCORE_PREFIX
from .labelling.provenance import IN_MEMORY, meta_path, read_meta
from .modeling.held_out import HELD_OUT_NAME, HeldOut

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HELD_OUT_NAME",
    "METHODS",
    "DEFAULT_METHOD",
    "DEFAULT_INTERVAL",
    "INTERVALS",
    "SCORE_PREFIX",
    "HeldOut",
    "SharesInputError",
    "acc",
    "bootstrap_shares",
    "cc",
    "em",
    "estimate_shares",
    "pacc",
    "pcc",
    "plot_shares",
    "read_scores",
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
# postings; see the README's Role shares section for the table
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


# -- reading a labelled feed ----------------------------------------------------------------------
ERROR_COLUMN = "error"
"""label-csv's column: empty when fine, ``warning: ...`` when classified, else why not."""
PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}
UNDATED = "undated"
"""the period of rows whose date is missing or unparseable (kept out of the dated periods)."""


def read_scores(
    source: str | Path | pd.DataFrame, columns: Sequence[str] = (), prefix: str = SCORE_PREFIX
) -> pd.DataFrame:
    """The score columns, ``error`` (where present) and ``columns`` of a labelled feed.

    Reads only those columns, never the text: CSV and TSV with pandas (every cell as text, the
    scores then as numbers), JSON lines in chunks, Parquet with pyarrow, Excel with pandas (the
    ``excel`` extra); the format follows the extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``, ``.xlsx``; ``.gz`` after CSV, TSV or JSON lines), as ``label-csv``
    names its outputs.

    Raises:
        SharesInputError: an unknown extension, a column of ``columns`` that is not there, or
            no score columns.

    Example:
        >>> read_scores("labelled.parquet", ["country"]).columns[:2].tolist()  # doctest: +SKIP
        ['country', 'score_ML Researcher']
    """
    import pandas as pd

    name = "the frame" if isinstance(source, pd.DataFrame) else str(source)
    wanted = list(dict.fromkeys(columns))

    def pick(names: Sequence[str]) -> list[str]:
        missing = [c for c in wanted if c not in names]
        if missing:
            shown = ", ".join(repr(c) for c in names if not c.startswith(prefix))
            raise SharesInputError(f"{name} has no column {missing[0]!r} (its columns: {shown})")
        scores = [c for c in names if c.startswith(prefix)]
        if not scores:
            raise SharesInputError(
                f"{name} has no {prefix}<Role> columns: run label-csv with --all-scores"
            )
        return [*wanted, *([ERROR_COLUMN] if ERROR_COLUMN in names else []), *scores]

    if isinstance(source, pd.DataFrame):
        frame = source[pick([str(c) for c in source.columns])].copy()
        return _scores_as_numbers(frame, prefix)
    from .csvio import EXTENSIONS, OutputPathError, output_format_for

    path = Path(source)
    try:  # label-csv's own rule, .gz included (pandas decompresses it)
        fmt = output_format_for(path)
    except OutputPathError:
        raise SharesInputError(
            f"{path}: unknown extension {path.suffix!r} (one of {', '.join(EXTENSIONS)}, "
            "or .csv.gz, .tsv.gz, .jsonl.gz)"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    frame = _read_columns(path, fmt, pick)
    return _scores_as_numbers(frame, prefix)


def _read_columns(path: Path, fmt: str, pick: Callable[[Sequence[str]], list[str]]) -> pd.DataFrame:
    """The columns ``pick`` chooses from the file's header, read in format ``fmt``."""
    import pandas as pd

    if fmt == "parquet":
        import pyarrow.parquet as pq

        keep = pick(pq.read_schema(path).names)
        frame = pq.read_table(path, columns=keep).to_pandas()
    elif fmt == "jsonl":
        parts, keep = [], None
        for chunk in pd.read_json(path, lines=True, chunksize=50_000, dtype=False):
            keep = keep or pick([str(c) for c in chunk.columns])
            parts.append(chunk.reindex(columns=keep))
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[])
        if keep is None:
            raise SharesInputError(f"{path} holds no rows")
    elif fmt == "xlsx":
        require_extra("openpyxl", "shares on an .xlsx file")
        keep = pick([str(c) for c in pd.read_excel(path, nrows=0).columns])
        frame = pd.read_excel(path, usecols=keep, dtype=object)[keep]
    else:
        sep = "\t" if fmt == "tsv" else ","
        header = pd.read_csv(path, sep=sep, nrows=0, encoding_errors="replace").columns
        keep = pick([str(c) for c in header])
        frame = pd.read_csv(
            path,
            sep=sep,
            usecols=keep,
            dtype=str,
            keep_default_na=False,  # a country 'NA' is a country; empty cells are ''
            encoding_errors="replace",
        )[keep]
    return frame


def _scores_as_numbers(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    import pandas as pd

    for column in frame.columns:
        if column.startswith(prefix):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


# -- the feed's shares ----------------------------------------------------------------------------
def estimate_shares(
    frame_or_path: str | Path | pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    date_column: str | None = None,
    period: str | None = None,
    title_column: str | None = None,
    method: str = DEFAULT_METHOD,
    held_out: HeldOut | str | Path | None = None,
    confidence: float = 0.9,
    n_boot: int = N_BOOT,
    seed: int = 0,
    min_group: int = MIN_GROUP,
    interval: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Every role's share of a labelled feed, per group and per period, with intervals.

    Reads the ``score_<Role>`` columns that ``label-csv --all-scores`` writes (and ``error``):
    rows with an ``error`` that does not start with ``warning:`` (or without scores) are error
    rows, counted and not used.

    Args:
        frame_or_path: the labelled feed: a CSV/TSV/JSONL/Parquet file or a DataFrame.
        by: column(s) to estimate per value of (a missing value is its own group,
            ``(missing)``).
        date_column: a column of dates (``2024-03``, ``2024-03-15``, ISO timestamps,
            ``Q1 2024``, ``Mar 2024``, ``15/03/2024``: :func:`.dates.read_dates`); rows whose
            date is missing or unreadable go to the period ``undated``, counted in
            ``attrs['undated_rows']``, a few of the values in ``attrs['undated_examples']``.
        period: ``month`` (default with a date column), ``quarter`` or ``year``.
        title_column: the column label-csv read titles from (``--title-column``), so the
            correction uses the held-out rows scored the same way; None when the feed was
            labelled from descriptions alone.
        method: one of :data:`METHODS`; the default is the one ``benchmarks/bench_shares.py``
            found most accurate on real postings (``cc``; see :data:`DEFAULT_METHOD`).
        held_out: the model's held-out data, or the model folder holding
            ``held_out.safetensors`` (``"default"`` and ``"zero-shot"`` as ``--model`` names
            them; a model other than the one recorded in the file's ``OUTPUT.meta.json`` is
            refused); None: the recorded model's, else the built-in default model's, where it
            has one (``cc`` and ``pcc`` do without; ``cc`` then decides by arg-max). ``cc`` counts
            the arg-max of the scores under the model's Other threshold, which is
            ``predicted_role`` unless label-csv ran with ``--min-confidence``.
        confidence: the coverage of the bootstrap intervals.
        n_boot: bootstrap replicates (0: no intervals, low = high = share).
        seed: seeds the resampling (each group's from the seed and the group).
        min_group: groups with fewer postings are marked in ``note`` (their share is still given).
        interval: ``shift`` or ``sampling`` (:data:`INTERVALS`); None: ``shift`` where the
            model has held-out data, else ``sampling``.
        dayfirst: read numeric dates (``03/04/2024``) day-first (True) or month-first (False)
            for the whole column; None decides from the column and, when some dates read both
            ways, says so in ``attrs['warnings']``.

    Returns:
        A long DataFrame, one row per group, period and role (roles in the model's order):
        the ``by`` columns (as text), ``period`` (``all`` without a date column), ``role``,
        ``share``, ``low``, ``high``, ``n`` (postings of the group and period), ``method``,
        ``interval``, ``note`` (``too few postings (n < 30)`` or empty). ``attrs`` holds
        ``rows`` (read), ``error_rows``, ``undated_rows``, ``undated_examples``, ``warnings``,
        ``used_rows``, ``method``,
        ``interval``, ``confidence``, ``n_boot``, ``labels`` and ``period``. (pandas keeps
        ``attrs`` through most operations but not all: read them from the returned frame.)

    Raises:
        SharesInputError (a ValueError): a missing column, no score columns, score columns
            that are not the held-out's labels, scores that are not probabilities, a method that
            needs held-out data and has none, or no usable rows.

    Example:
        >>> df = estimate_shares("labelled.csv", by="source", date_column="posted",
        ...                      title_column="title", held_out="models/mine")  # doctest: +SKIP
        >>> df[df.role == "ML Engineer"][["source", "period", "share", "low", "high"]]  # doctest: +SKIP
    """
    groups = [by] if isinstance(by, str) else list(by or [])
    _check_options(period, date_column, method, interval)
    held = _resolve_held_out(
        held_out, method in ("acc", "pacc", "em") or interval == "shift", frame_or_path
    )
    interval = interval or (DEFAULT_INTERVAL if held is not None else "sampling")
    extra = [*groups, date_column, title_column]
    frame = read_scores(frame_or_path, [c for c in extra if c])
    labels, scores = _score_matrix(frame, held, frame_or_path)

    rows = len(frame)
    bad = _error_rows(frame, scores)
    good = ~bad
    if not good.any():
        raise SharesInputError(f"no rows to estimate from: all {rows} rows are error rows")
    _check_probabilities(scores[good])
    frame, scores = frame.loc[good].reset_index(drop=True), _normalise(scores[good])
    titled = np.zeros(len(frame), bool)
    if title_column:
        titled = (frame[title_column].fillna("").astype(str).str.strip() != "").to_numpy()
    keys, dates = _cell_keys(frame, groups, date_column, period, dayfirst)

    cells = _Cells(method, held, confidence, n_boot, seed, min_group, interval)
    out = _sort(cells.shares(keys, scores, titled, labels), groups, labels)
    out.attrs.update(
        rows=rows,
        error_rows=int(bad.sum()),
        undated_rows=dates.undated if dates is not None else 0,
        undated_examples=dates.undated_examples if dates is not None else [],
        warnings=dates.warnings if dates is not None else [],
        used_rows=int(good.sum()),
        method=method,
        interval=interval,
        confidence=confidence,
        n_boot=n_boot,
        labels=list(labels),
        period=(period or "month") if date_column else None,
    )
    return out


def _check_options(
    period: str | None, date_column: str | None, method: str, interval: str | None
) -> None:
    if period is not None and period not in PERIODS:
        raise SharesInputError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")
    if period is not None and date_column is None:
        raise SharesInputError(f"period={period!r} needs a date_column")
    if method not in METHODS:
        raise SharesInputError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    if interval is not None and interval not in INTERVALS:
        raise SharesInputError(f"unknown interval {interval!r}: one of {', '.join(INTERVALS)}")


def _error_rows(frame: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
    """Rows with an error that is not a ``warning:``, or without scores."""
    import pandas as pd

    error = frame[ERROR_COLUMN] if ERROR_COLUMN in frame else pd.Series("", index=frame.index)
    error = error.fillna("").astype(str).str.strip()
    bad = ((error != "") & ~error.str.startswith("warning:")).to_numpy(copy=True)
    bad |= np.isnan(scores).any(axis=1)
    return bad


def _cell_keys(
    frame: pd.DataFrame,
    groups: list[str],
    date_column: str | None,
    period: str | None,
    dayfirst: bool | None,
) -> tuple[pd.DataFrame, ReadDates | None]:
    """Each row's cell (its value of every ``by`` column, then its period), and the dates as
    read (None without a date column)."""
    import pandas as pd

    keys = pd.DataFrame(index=frame.index)
    for column in groups:
        keys[column] = frame[column].astype("string").fillna("(missing)")
    if not date_column:
        keys["period"] = "all"
        return keys, None
    read = read_dates(frame[date_column].tolist(), dayfirst=dayfirst, column=date_column)
    keys["period"] = [
        period_of(d, period or "month") if d is not None else UNDATED for d in read.dates
    ]
    return keys, read


@dataclass(frozen=True)
class _Cells:
    """How every cell (group and period) is estimated: the method, the held-out data it
    corrects with, and the bootstrap."""

    method: str
    held: HeldOut | None
    confidence: float
    n_boot: int
    seed: int
    min_group: int
    interval: str

    def shares(
        self, keys: pd.DataFrame, scores: np.ndarray, titled: np.ndarray, labels: Sequence[str]
    ) -> pd.DataFrame:
        """One row per cell and role: the share, its interval, the cell's size and note."""
        import pandas as pd

        records = []
        for key, index in keys.groupby(list(keys.columns), sort=False).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            cell_seed = [self.seed, zlib.crc32(json.dumps([str(v) for v in key]).encode())]
            share, low, high = bootstrap_shares(
                scores[index],
                self.method,
                self.held,
                titled[index],
                confidence=self.confidence,
                n_boot=self.n_boot,
                seed=cell_seed,
                interval=self.interval,
            )
            small = len(index) < self.min_group
            note = f"too few postings (n < {self.min_group})" if small else ""
            for role, s, lo, hi in zip(labels, share, low, high):
                row = (role, s, lo, hi, len(index), self.method, self.interval, note)
                records.append((*key, *row))
        columns = [*keys.columns, "role", "share", "low", "high", "n", "method", "interval"]
        columns.append("note")
        return pd.DataFrame.from_records(records, columns=columns)


def _resolve_held_out(
    held_out: HeldOut | str | Path | None, needed: bool, source: Any
) -> HeldOut | None:
    """The held-out data: given; read from a model folder (``default`` and ``zero-shot`` as
    ``--model`` names them); else that of the model that labelled ``source`` (its
    ``OUTPUT.meta.json``); else the built-in default model's. None where there is none and the
    method can do without.

    Raises:
        SharesInputError: a model other than the one that labelled ``source``, or none where
            the method needs held-out data.
    """
    if isinstance(held_out, HeldOut):
        return held_out
    recorded = _recorded_model(source)
    if held_out is not None:
        asked = _model_key(held_out)
        if recorded is not None and asked is not None and asked != recorded:
            raise SharesInputError(
                f"{source} was labelled by model {recorded!r} ({meta_path(source).name}), not "
                f"{str(held_out)!r}: drop --model (held_out=) to use that model's held-out data"
            )
    model = str(held_out) if held_out is not None else recorded or "default"
    if model == "zero-shot" or model == IN_MEMORY:
        if not needed:
            return None
        what = "the zero-shot model" if model == "zero-shot" else "a model that was never saved"
        raise SharesInputError(
            f"{source} was labelled by {what}, which has no held-out data: use "
            "method 'cc' or 'pcc' with interval 'sampling'"
        )
    folder = Path(__file__).parent / "default_model" if model == "default" else Path(model)
    if not (folder / HELD_OUT_NAME).is_file() and not folder.is_file():
        if not needed:
            return None
        raise SharesInputError(
            f"{folder} has no {HELD_OUT_NAME} (the model's held-out data, which "
            "`role-classifier train` saves): retrain the model, pass held_out=, or use "
            "method='cc' or 'pcc'"
        )
    return HeldOut.load(folder)


def _recorded_model(source: Any) -> str | None:
    """The model recorded in a labelled file's ``OUTPUT.meta.json`` (None: a frame, or none)."""
    if not isinstance(source, (str, Path)):
        return None
    meta = read_meta(source)
    return meta["model"] if meta is not None else None


def _model_key(model: str | Path) -> str | None:
    """A model as ``OUTPUT.meta.json`` records it: a built-in name or an absolute folder (None:
    a held-out file, which names no model)."""
    key = str(model).strip().lower().replace("_", "-")
    if key in ("default", "zero-shot"):
        return key
    path = Path(model)
    return str(path.resolve()) if path.is_dir() else None


def _score_matrix(
    frame: pd.DataFrame, held: HeldOut | None, source: Any
) -> tuple[tuple[str, ...], np.ndarray]:
    """The labels and the (n, k) score matrix, columns in the held-out's label order."""
    found = [c[len(SCORE_PREFIX) :] for c in frame.columns if c.startswith(SCORE_PREFIX)]
    labels = tuple(found)
    if held is not None:
        if sorted(found) != sorted(held.labels):
            name = "the frame" if not isinstance(source, (str, Path)) else str(source)
            extra = sorted(set(found) - set(held.labels))
            lacking = sorted(set(held.labels) - set(found))
            raise SharesInputError(
                f"{name}: the score columns are not the model's labels (not in the model: "
                f"{extra or 'none'}; missing: {lacking or 'none'}): a file labelled by "
                "another model or taxonomy?"
            )
        labels = held.labels
    matrix = frame[[SCORE_PREFIX + label for label in labels]].to_numpy(dtype=np.float64)
    return labels, matrix


def _check_probabilities(scores: np.ndarray) -> None:
    sums = scores.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if (scores < 0).any() or abs(sums[worst] - 1) > 0.02:
        raise SharesInputError(
            f"the score columns are not probabilities (a row sums to {sums[worst]:.3f}): "
            "expected label-csv --all-scores output"
        )


def _sort(out: pd.DataFrame, groups: list[str], labels: Sequence[str]) -> pd.DataFrame:
    """Groups in order, periods in time order (``undated`` last), roles in the model's order."""
    import pandas as pd

    out["role"] = pd.Categorical(out["role"], categories=list(labels), ordered=True)
    undated = out["period"] == UNDATED
    out = out.assign(_undated=undated).sort_values(
        [*groups, "_undated", "period", "role"], kind="stable"
    )
    out["role"] = out["role"].astype(str)
    return out.drop(columns="_undated").reset_index(drop=True)


# -- the figure -----------------------------------------------------------------------------------
ROLE_COLOURS = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#17becf",  # cyan
    "#bcbd22",  # olive
)
"""one colour per role, by its position in the taxonomy (Other is always grey)."""
OTHER_COLOUR = "#7f7f7f"
_MAX_PANELS = 12


def role_colour(role: str, labels: Sequence[str], other_label: str = "Other") -> str:
    """The fixed colour of a role: by its position in ``labels``; Other grey."""
    if role == other_label:
        return OTHER_COLOUR
    index = [label for label in labels if label != other_label].index(role)
    return ROLE_COLOURS[index % len(ROLE_COLOURS)]


def plot_shares(
    df: pd.DataFrame,
    path: str | Path,
    *,
    roles: Sequence[str] | None = None,
    title: str | None = None,
    other_label: str = "Other",
) -> Path:
    """A PNG of :func:`estimate_shares`' output: one panel per group; per period, each role's
    share as a line with its interval as a band (a single period: dots with interval bars).

    Other (usually most of a feed) is left out by default so the roles are readable; its share
    is given in the panel title. Periods with too few postings have hollow markers; ``undated``
    rows are not drawn (their count is in the caption).

    Args:
        df: the DataFrame :func:`estimate_shares` returned (or a filtered part of it).
        path: the PNG to write.
        roles: the roles to draw, default all but Other.
        title: the figure title (default: what the figure shows).
        other_label: the label drawn grey and left out by default.

    Returns:
        The path written.

    Example:
        >>> plot_shares(estimate_shares("labelled.csv", date_column="posted"), "shares.png")  # doctest: +SKIP
    """
    from ._extras import require_extra

    require_extra("matplotlib", "shares --plot")
    plan = _Plan.of(df, roles, other_label)
    fig, axes = _figure(plan)
    for ax, (key, part) in zip(axes.flat, plan.shown):
        _draw_panel(ax, part, plan.drawn, plan.labels, plan.periods, plan.single, other_label)
        _format_panel(ax, plan, key, part)
    for ax in axes.flat[len(plan.shown) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("share of postings" if plan.single else "period")
    for ax in axes[:, 0]:
        ax.set_ylabel("" if plan.single else "share of postings")
    _title_and_legend(fig, df, plan, title)
    _caption(fig, df, plan)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


@dataclass(frozen=True)
class _Plan:
    """What a :func:`plot_shares` figure shows: which roles, one panel per group (the first
    :data:`_MAX_PANELS`), which periods, and the top of the share axis."""

    labels: list[str]
    drawn: list[str]
    dated: pd.DataFrame
    panels: list[tuple[Any, pd.DataFrame]]
    periods: list[str]
    top: float
    other_label: str

    @classmethod
    def of(cls, df: pd.DataFrame, roles: Sequence[str] | None, other_label: str) -> _Plan:
        labels = list(df.attrs.get("labels") or dict.fromkeys(df["role"]))
        drawn = [r for r in (roles or [r for r in labels if r != other_label]) if r in labels]
        base = {"period", "role", "share", "low", "high", "n", "method", "note"}
        groups = [c for c in df.columns if c not in base]
        dated = df[df["period"] != UNDATED]
        panels = list(dated.groupby(groups, sort=False)) if groups else [((), dated)]
        periods = list(dict.fromkeys(dated["period"]))
        top = float(dated[dated["role"].isin(drawn)]["high"].max()) if len(dated) else 1.0
        return cls(labels, drawn, dated, panels, periods, top, other_label)

    @property
    def shown(self) -> list[tuple[Any, pd.DataFrame]]:
        return self.panels[:_MAX_PANELS]

    @property
    def single(self) -> bool:
        """One period: dots with interval bars instead of lines over time."""
        return len(self.periods) == 1


def _figure(plan: _Plan) -> tuple[Any, Any]:
    """The figure and its grid of panels: long time axes stack the groups in one column; dot
    plots and short ones sit side by side."""
    from matplotlib.figure import Figure

    single, periods = plan.single, plan.periods
    cols = 1 if not single and len(periods) > 6 else max(1, min(len(plan.shown), 3))
    rows = max(1, -(-len(plan.shown) // cols))
    width = 4.2 if single else min(11.0, 0.4 * len(periods) + 4.0)
    fig = Figure(
        figsize=(width * cols + 2.0, (2.6 if single else 3.2) * rows + 0.8), layout="constrained"
    )
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True, sharex=not single)
    return fig, axes


def _format_panel(ax: Any, plan: _Plan, key: Any, part: pd.DataFrame) -> None:
    """A panel's share axis, grid and title (the group, its postings and Other's share)."""
    from matplotlib.ticker import PercentFormatter

    single, other_label = plan.single, plan.other_label
    share_axis = ax.xaxis if single else ax.yaxis
    share_axis.set_major_formatter(PercentFormatter(1.0, decimals=None))  # 0.5% steps: 0.5%
    (ax.set_xlim if single else ax.set_ylim)(0, min(1.0, max(plan.top, 0.01) * 1.12))
    ax.grid(axis="x" if single else "y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    name = ", ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
    other = part[part["role"] == other_label]
    sub = ""
    if len(other) and other_label not in plan.drawn:
        lo, hi = other["share"].min(), other["share"].max()
        sub = (
            f"{other_label}: {lo:.0%}" if single or lo == hi else f"{other_label} {lo:.0%}–{hi:.0%}"
        )
    n = int(part.drop_duplicates("period")["n"].sum())
    ax.set_title(" · ".join(s for s in (name, f"n = {n:,}", sub) if s), fontsize=10)


def _title_and_legend(fig: Any, df: pd.DataFrame, plan: _Plan, title: str | None) -> None:
    """The figure title, and a legend of the roles (over time) and of hollow markers."""
    from matplotlib.lines import Line2D

    single, other_label = plan.single, plan.other_label
    method = str(df["method"].iloc[0]) if len(df) else ""
    confidence = df.attrs.get("confidence", 0.9)
    what = "Role shares" if single else f"Role shares per {df.attrs.get('period') or 'period'}"
    kind = df.attrs.get("interval", "sampling")
    fig.suptitle(title or f"{what} ({method}, {confidence:.0%} {kind} intervals)", fontsize=12)
    handles = [
        Line2D([], [], color=role_colour(r, plan.labels, other_label), marker="o", lw=2, label=r)
        for r in ([] if single else plan.drawn)  # one period: the roles are the y axis
    ]
    small = bool((plan.dated["note"] != "").any())
    if small:
        handles.append(
            Line2D([], [], color="0.3", marker="o", mfc="white", lw=0, label="too few postings")
        )
    if handles:
        fig.legend(handles=handles, loc="outside right center", frameon=False)


def _caption(fig: Any, df: pd.DataFrame, plan: _Plan) -> None:
    """What the figure leaves out: groups beyond the first panels, undated and error rows."""
    notes = []
    if len(plan.panels) > len(plan.shown):
        notes.append(f"first {len(plan.shown)} of {len(plan.panels)} groups shown")
    if (df["period"] == UNDATED).any():
        notes.append(f"{df.attrs.get('undated_rows', '?')} undated postings not drawn")
    if df.attrs.get("error_rows"):
        notes.append(f"{df.attrs['error_rows']} error rows not used")
    if notes:
        fig.supxlabel("; ".join(notes), fontsize=8, color="0.35", x=0.01, ha="left")


def _draw_panel(
    ax: Any,
    part: pd.DataFrame,
    drawn: Sequence[str],
    labels: Sequence[str],
    periods: Sequence[str],
    single: bool,
    other_label: str,
) -> None:
    """One group's roles: lines and bands over the periods, or dots and bars for one period."""
    position = {p: i for i, p in enumerate(periods)}
    for offset, role in enumerate(drawn):
        rows = part[part["role"] == role]
        if not len(rows):
            continue
        colour = role_colour(role, labels, other_label)
        small = (rows["note"] != "").to_numpy()
        if single:
            y = len(drawn) - 1 - offset
            s, lo, hi = rows["share"].iloc[0], rows["low"].iloc[0], rows["high"].iloc[0]
            ax.errorbar(
                [s], [y], xerr=[[s - lo], [hi - s]], fmt="o", color=colour, capsize=3,
                mfc="white" if small[0] else colour,
            )  # fmt: skip
            continue
        x = rows["period"].map(position).to_numpy()
        ax.fill_between(x, rows["low"], rows["high"], color=colour, alpha=0.12, lw=0)
        ax.plot(x, rows["share"], color=colour, lw=2)
        ax.scatter(x[~small], rows["share"].to_numpy()[~small], color=colour, s=18, zorder=3)
        ax.scatter(
            x[small], rows["share"].to_numpy()[small], facecolor="white", edgecolor=colour,
            s=18, zorder=3,
        )  # fmt: skip
    if single:
        ax.set_yticks(range(len(drawn)), list(reversed(drawn)))
        ax.set_ylim(-0.6, len(drawn) - 0.4)
    else:
        step = max(1, len(periods) // 12)
        ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45, ha="right")
        ax.set_xlim(-0.3, len(periods) - 0.7)


def shares_table(df: pd.DataFrame) -> dict[str, Any]:
    """The estimate as JSON-ready data: what was counted (``attrs``) and one row per group,
    period and role (what ``shares --json`` prints and the API returns).

    Example:
        >>> shares_table(estimate_shares("labelled.csv"))["method"]  # doctest: +SKIP
        'cc'
    """
    attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in df.attrs.items()}
    rows = json.loads(df.to_json(orient="records", double_precision=4))
    return {**attrs, "shares": rows}
