"""Evaluate classifiers on a labelled CSV: metrics, a side-by-side comparison, and reports.

One module per step, each usable alone:

* :mod:`.metrics`: :func:`compute_metrics` turns ``(y_true, proba, labels)`` into the metrics
  dict (calibration, coverage curve, per-group figures); no model needed.
* :mod:`.run`: :func:`evaluate` reads the rows (:func:`~role_classifier.data.read_labelled_csv`),
  runs every model on exactly the same rows (:func:`predict_rows`, the TF-IDF baseline of
  :mod:`.baselines`) and measures them.
* :mod:`.report`: :func:`write_report` writes ``report.md``, ``misclassified.csv`` and the
  figures of :mod:`.plots`.
* :mod:`.advice`: :func:`advice` gives what to tell the user afterwards (warnings split by model,
  ``label-csv`` commands) as data.
* :mod:`.schema`: the result's JSON schema (``schema_version`` 2) and the types shared by the
  steps.

``role-classifier evaluate`` is a thin wrapper around :func:`evaluate` and :func:`advice`.

Example:
    >>> result = evaluate("test.csv", "label", "description", "title",
    ...                   models=["default", "zero-shot"])  # doctest: +SKIP
    >>> [m["macro_f1"] for m in result["models"]]  # doctest: +SKIP
    [0.93, 0.88]
"""

from __future__ import annotations

from .advice import Advice, advice, label_csv_command, label_hints, split_warnings
from .metrics import (
    GROUP_KEYS,
    calibration_bins,
    compute_metrics,
    coverage_curve,
    expected_calibration_error,
    group_metrics,
)
from .report import write_report
from .run import BATCH_SIZE, evaluate, predict_rows
from .schema import BASELINE_NAME, SCHEMA_VERSION, Classifier, EvaluationError, ModelRun

__all__ = [
    "Advice",
    "BASELINE_NAME",
    "BATCH_SIZE",
    "Classifier",
    "EvaluationError",
    "GROUP_KEYS",
    "ModelRun",
    "SCHEMA_VERSION",
    "advice",
    "calibration_bins",
    "compute_metrics",
    "coverage_curve",
    "evaluate",
    "expected_calibration_error",
    "group_metrics",
    "label_csv_command",
    "label_hints",
    "predict_rows",
    "split_warnings",
    "write_report",
]
