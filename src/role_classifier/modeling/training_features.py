"""A model's training postings as its head saw them, saved in its folder for ``adapt``'s refit.

``train`` keeps the features of every training posting (both views: with its title and without),
their labels and the training file each came from; ``save_pretrained`` writes them as
:data:`TRAINING_FEATURES` (float16, compressed: about 2.2 KB a posting). ``adapt`` refits the
head on them plus the corrections, as ``train`` fitted it (:mod:`.adapt`).

Example:
    >>> TrainingFeatures.of(RoleClassifier.from_pretrained("default")).y.shape  # doctest: +SKIP
    (2832,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TRAINING_FEATURES", "TrainingFeatures"]

TRAINING_FEATURES = "training_features.npz"
"""The file of a model folder with its training postings' features (``method="refit"``)."""


@dataclass
class TrainingFeatures:
    """A model's training postings as its head saw them: both views, labels and training files."""

    titled: np.ndarray
    plain: np.ndarray
    y: np.ndarray
    sources: np.ndarray
    """per posting, the training file it came from (for ``source_balance``)."""

    def stacked(self, balance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Both views stacked, labels and row weights, as ``train`` fits them."""
        from .fitting import source_weights

        w = source_weights([str(s) for s in self.sources], balance)
        w = np.ones(len(self.y)) if w is None else w
        x = np.vstack([self.titled, self.plain]).astype(np.float64)
        return x, np.tile(self.y, 2), np.tile(w, 2)

    def save(self, path: Any) -> None:
        """Float16 features (the head's inputs are embeddings and scores in [-1, 1]), compressed."""
        np.savez_compressed(
            path,
            titled=self.titled.astype(np.float16),
            plain=self.plain.astype(np.float16),
            y=self.y.astype(np.int16),
            sources=np.asarray(self.sources, dtype=str),
        )

    @classmethod
    def load(cls, path: Any) -> TrainingFeatures:
        with np.load(path) as data:
            return cls(
                data["titled"].astype(np.float32),
                data["plain"].astype(np.float32),
                data["y"].astype(int),
                data["sources"],
            )

    @classmethod
    def of(cls, base: Any) -> TrainingFeatures | None:
        """A model's training features: in memory (just trained), else its folder's
        :data:`TRAINING_FEATURES`, else None."""
        if getattr(base, "training_features", None) is not None:
            return base.training_features
        folder = getattr(base, "source", None)
        path = None if folder is None else folder / TRAINING_FEATURES
        return cls.load(path) if path is not None and path.is_file() else None
