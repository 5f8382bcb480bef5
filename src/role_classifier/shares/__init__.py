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

The package: :mod:`.methods` (the five methods and the bootstrap, numpy), :mod:`.feed` (reading
a labelled feed's scores, never its text), :mod:`.estimate` (:func:`role_shares`, the table per
group and period; :func:`estimate_shares`, the same as a pandas DataFrame), :mod:`.plot` (the
PNG). Nothing here needs pandas except :func:`estimate_shares` and :func:`read_scores`, which
return DataFrames.

Example:
    >>> from role_classifier.shares import plot_shares, role_shares
    >>> table = role_shares("labelled.parquet", by="country", date_column="posted",
    ...                     period="month", held_out="models/mine")  # doctest: +SKIP
    >>> table.attrs["error_rows"], table.attrs["undated_rows"]  # doctest: +SKIP
    (3, 12)
    >>> plot_shares(table, "shares.png")  # doctest: +SKIP
"""

from __future__ import annotations

from ..labelling.options import SCORE_PREFIX
from ..modeling.held_out import HELD_OUT_NAME, HeldOut
from .estimate import (
    PERIODS,
    UNDATED,
    Shares,
    estimate_shares,
    read_scores,
    role_shares,
    shares_table,
)
from .feed import ERROR_COLUMN
from .methods import (
    DEFAULT_INTERVAL,
    DEFAULT_METHOD,
    INTERVALS,
    METHODS,
    MIN_GROUP,
    N_BOOT,
    SharesInputError,
    acc,
    bootstrap_shares,
    cc,
    em,
    pacc,
    pcc,
    shift_interval,
)
from .plot import plot_shares, role_colour

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_METHOD",
    "ERROR_COLUMN",
    "HELD_OUT_NAME",
    "INTERVALS",
    "METHODS",
    "MIN_GROUP",
    "N_BOOT",
    "PERIODS",
    "SCORE_PREFIX",
    "UNDATED",
    "HeldOut",
    "Shares",
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
    "role_colour",
    "role_shares",
    "shares_table",
    "shift_interval",
]
