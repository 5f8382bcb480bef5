"""The model: features and the head over the encoder, and :class:`RoleClassifier` on top.

``features`` owns the feature layout (zero-shot is a fixed head over it), ``head`` the decision
rules (the one abstain rule), ``prototypes`` the saved role embeddings, ``model`` the
:class:`RoleClassifier` façade, composed of ``scoring`` (encode, score blocks, logits),
``decisions`` (probabilities, label, review band), ``evidence`` and ``persistence`` (save, load);
``config`` holds :class:`ModelConfig`, ``names`` what ``--model`` accepts (and where the default
model lives) and ``loading`` how a command gets a model.

The names below are imported on first use, so ``modeling.names`` loads without numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Encoded, ModelConfig, Prediction, RoleClassifier

__all__ = ["Encoded", "ModelConfig", "Prediction", "RoleClassifier"]


def __getattr__(name: str) -> Any:
    """Import :mod:`.model` the first time one of its public names is used."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".model", __name__), name)
    globals()[name] = value
    return value
