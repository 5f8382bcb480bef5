"""Moved to :mod:`role_classifier.evaluation.plots`; this old path re-exports it."""

from .evaluation.plots import DPI, confusion_figure, coverage_figure, reliability_figure  # noqa: F401
