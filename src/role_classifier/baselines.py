"""Moved to :mod:`role_classifier.evaluation.baselines`; this old path re-exports it."""

from .evaluation.baselines import TfidfBaseline  # noqa: F401
