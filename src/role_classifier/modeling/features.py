"""The one place that knows the feature vector's layout; zero-shot is a head with fixed weights.

Every posting becomes one vector, and every decision is a linear head over it:

    [ title embedding (dim) | has_title (1) | mean window embedding (dim) | six score blocks ]

The score blocks are per-role numbers (one per label each), in :data:`BLOCKS` order:

* ``title``: best cosine between the title and the role's example titles (0 without a title);
* ``desc_phrases``: description windows against the role's work phrases;
* ``desc_titles``: description windows against the role's titles ("as an MLOps engineer...");
* ``mentions``, ``keywords``, ``title_keywords``: log(1 + n) counts of the role's own titles
  and keywords in the description and the title.

The **zero-shot** scorer is the head :meth:`FeatureLayout.zero_shot_head`: a fixed weight per
block on the identity, divided by the zero-shot temperature. A **trained** head is another
(``weight``, ``bias``) over the same vector, fitted by :mod:`role_classifier.training` and
anchored on the zero-shot one. Prediction, evidence and training all go through this layout.

Example:
    >>> layout = FeatureLayout(dim=4, n_labels=3)
    >>> layout.n_features, layout.block("keywords")
    (27, slice(21, 24, None))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["BLOCKS", "FeatureLayout", "ZERO_SHOT_WEIGHTS"]

BLOCKS = ("title", "desc_phrases", "desc_titles", "mentions", "keywords", "title_keywords")
"""Score blocks at the end of the feature vector, in order."""

ZERO_SHOT_WEIGHTS = {
    "title": "title_weight",
    "desc_phrases": "desc_weight",
    "desc_titles": "desc_title_weight",
    "mentions": "mention_weight",
    "keywords": "keyword_weight",
    "title_keywords": "title_keyword_weight",
}
"""Score block -> the :class:`.config.ModelConfig` field holding its weight."""


@dataclass(frozen=True)
class FeatureLayout:
    """Where each part of the feature vector sits, for ``dim``-wide embeddings and ``n_labels``.

    Example:
        >>> FeatureLayout(dim=384, n_labels=8).n_features
        817
    """

    dim: int
    n_labels: int

    @property
    def n_features(self) -> int:
        """Length of the vector: ``2 * dim + 1 + len(BLOCKS) * n_labels``."""
        return 2 * self.dim + 1 + len(BLOCKS) * self.n_labels

    @property
    def title_embedding(self) -> slice:
        """The title's embedding (zeros without a title)."""
        return slice(0, self.dim)

    @property
    def has_title(self) -> int:
        """Index of the 1/0 flag: the posting has a title."""
        return self.dim

    @property
    def mean_embedding(self) -> slice:
        """The mean of the description windows' embeddings, L2-normalised."""
        return slice(self.dim + 1, 2 * self.dim + 1)

    def block(self, name: str) -> slice:
        """The slice of one score block (see :data:`BLOCKS`)."""
        start = 2 * self.dim + 1 + BLOCKS.index(name) * self.n_labels
        return slice(start, start + self.n_labels)

    def assemble(
        self, title: np.ndarray | None, mean: np.ndarray, blocks: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """The feature vector (float32) from its parts; ``title`` None for no title."""
        x = np.zeros(self.n_features, dtype=np.float32)
        if title is not None:
            x[self.title_embedding] = title
            x[self.has_title] = 1.0
        x[self.mean_embedding] = mean
        for name in BLOCKS:
            x[self.block(name)] = blocks[name]
        return x

    def titled(self, x: np.ndarray) -> np.ndarray:
        """Which rows of a feature matrix have a title: the rule for both calibration temperatures.

        Training and prediction both call this, so a training row without a title tunes the
        description-only temperature, exactly as it would be scored.
        """
        return np.asarray(x)[:, self.has_title] > 0.5

    def zero_shot_head(
        self, weights: Mapping[str, float], temperature: float
    ) -> dict[str, np.ndarray]:
        """The zero-shot scorer as a head: ``weights[block] / temperature`` on each block's identity.

        Args:
            weights: block name -> weight (see :data:`ZERO_SHOT_WEIGHTS`).
            temperature: the zero-shot temperature; the head's logits are already divided by it.
        """
        w = np.zeros((self.n_labels, self.n_features))
        eye = np.eye(self.n_labels)
        for name in BLOCKS:
            w[:, self.block(name)] = eye * weights[name] / temperature
        return {"weight": w, "bias": np.zeros(self.n_labels)}
