"""Old import path of :mod:`role_classifier.labelling`, kept for one release."""

from __future__ import annotations

from .io import FORMATS  # noqa: F401
from .labelling import *  # noqa: F403
from .labelling import __all__  # noqa: F401
