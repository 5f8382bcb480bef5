"""Old import path of :mod:`role_classifier.modeling.model`, kept for one release."""

from __future__ import annotations

from .modeling.model import *  # noqa: F403
from .modeling.model import DEFAULT_MODEL_DIR, RoleClassifier  # noqa: F401
