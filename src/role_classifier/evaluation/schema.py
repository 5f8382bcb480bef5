"""The contract the evaluation layers share: the result's JSON schema and the types that carry it.

JSON schema (``schema_version`` 2)
----------------------------------
:func:`~role_classifier.evaluation.evaluate` returns, and ``evaluate --json`` writes, one shape
whatever the number of models: ``{"schema_version": 2, "models": [object, ...]}``, one object per
model in the order the models were given. (Version 1 returned a lone object for one model and put
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
    abstaining to Other below a threshold with the model's own rule
    (:func:`role_classifier.modeling.head.abstain`): at threshold ``t`` a row gets its arg-max
    label unless its best non-Other probability is below ``t``, then it is Other.
    ``{"target_precision", "threshold", "coverage", "precision", "accuracy", "points":
    [{"threshold", "coverage", "precision", "accuracy"}]}``: ``coverage`` is the share of rows
    given a (non-Other) role, ``precision`` the share of those that are right, ``accuracy`` the
    overall accuracy with the rest labelled Other. ``threshold`` is the lowest threshold whose
    ``precision`` reaches ``target_precision`` (with its coverage, precision and accuracy): 0
    when abstaining is not needed, ``null`` when no threshold reaches it; it can be used as
    ``other_threshold``. ``points`` holds the curve by increasing threshold: at 0, then at the
    rows' best-role probabilities (at most 200, evenly spread over coverage); ``precision`` is
    ``null`` where nothing is covered.
``review``
    the model's review band (:func:`role_classifier.modeling.head.review_band`, thresholds
    stored in the model): ``{"auto": {"n", "share", "accuracy"}, "review": {...}}``, the share
    of rows in each band and the accuracy there; ``null`` for the TF-IDF baseline.
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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..data import DataError

__all__ = [
    "BASELINE_NAME",
    "SCHEMA_VERSION",
    "Classifier",
    "EvaluationError",
    "ModelRun",
]

SCHEMA_VERSION = 2
BASELINE_NAME = "tfidf-baseline"


class EvaluationError(DataError):
    """Input that cannot be evaluated; the message says what to change."""


class Classifier(Protocol):
    """What evaluation needs of a model (``RoleClassifier`` and ``TfidfBaseline`` have it)."""

    labels: list[str]

    def predict_proba(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> np.ndarray: ...

    def decide(self, proba: np.ndarray) -> np.ndarray: ...


@dataclass
class ModelRun:
    """One model's result on the rows: its metrics dict, probabilities and decisions."""

    name: str
    metrics: dict[str, Any]
    proba: np.ndarray
    predicted: np.ndarray
