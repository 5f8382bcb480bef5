"""The ``role-classifier`` command line: one module per command, each a thin wrapper that parses
its arguments, calls one library function and renders the answer (:mod:`.render`); errors have
one rule (:class:`.app._Commands`); shared option types and model loading are in :mod:`.common`.
"""

from __future__ import annotations

from . import adapt, classify, evaluate, info, label, review, serve, shares, train  # noqa: F401 - registers the commands
from .app import app
from .common import check_model_name, decode_bytes, load_model

__all__ = ["app", "check_model_name", "decode_bytes", "load_model"]
