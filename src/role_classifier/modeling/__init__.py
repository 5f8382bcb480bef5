"""The model: features and the head over the encoder, and :class:`RoleClassifier` on top.

``features`` owns the feature layout (zero-shot is a fixed head over it), ``head`` the decision
rules (the one abstain rule), ``prototypes`` the saved role embeddings, ``model`` the
:class:`RoleClassifier` façade (encode, predict, evidence, save, load), ``names`` what ``--model``
accepts and ``loading`` how a command gets a model.
"""

from __future__ import annotations

from .model import Encoded, ModelConfig, Prediction, RoleClassifier

__all__ = ["Encoded", "ModelConfig", "Prediction", "RoleClassifier"]
