"""Old import path of :mod:`role_classifier.labelling.ray`, kept for one release."""

from __future__ import annotations

from .labelling.ray import *  # noqa: F403
from .labelling.ray import ACTOR_OPTIONS, RoleLabeller, label_dataset  # noqa: F401
