"""A TF-IDF + logistic regression baseline, for measuring what the encoder model adds.

:class:`TfidfBaseline` has the shape of
:class:`~role_classifier.modeling.model.RoleClassifier` that evaluation uses (``labels``,
``predict_proba(texts, titles=None)``, ``decide(proba)``) and reads the same text:
:func:`~role_classifier.text.posting_text` of title and description.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ..text import posting_text

__all__ = ["TfidfBaseline"]


class TfidfBaseline:
    """Word and bigram TF-IDF features into a class-balanced logistic regression.

    Args:
        labels: all label names; the columns of :meth:`predict_proba` follow this order.
            A label with no training rows gets probability 0.
        other_label: the catch-all label (kept for parity with ``RoleClassifier``).

    Example:
        >>> clf = TfidfBaseline(["AI Engineer", "Other"]).fit(
        ...     ["rag llm apis", "rag llm agents", "nurse night shift", "nurse ward shift"],
        ...     ["AI Engineer", "AI Engineer", "Other", "Other"],
        ... )
        >>> clf.predict_proba(["llm rag"]).shape
        (1, 2)
        >>> [clf.labels[i] for i in clf.decide(clf.predict_proba(["nurse shift"]))]
        ['Other']
    """

    def __init__(self, labels: Sequence[str], other_label: str = "Other") -> None:
        self.labels = list(labels)
        self.other_label = other_label
        self.pipeline: Pipeline | None = None

    def fit(
        self,
        texts: Sequence[str],
        y: Sequence[str],
        titles: Sequence[str | None] | None = None,
    ) -> TfidfBaseline:
        """Train on descriptions (plus optional titles) and their labels.

        Raises:
            ValueError: a label not in :attr:`labels`, mismatched lengths, fewer than two
                distinct labels, or a vocabulary left empty by ``min_df=2``.
        """
        if len(texts) != len(y):
            raise ValueError(f"got {len(texts)} texts but {len(y)} labels")
        unknown = sorted(set(y) - set(self.labels))
        if unknown:
            raise ValueError(f"labels not in the label set: {', '.join(unknown)}")
        if len(set(y)) < 2:
            raise ValueError("the baseline needs training rows of at least two labels")
        pipeline = Pipeline(
            [
                ("tfidf", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)),
                ("lr", LogisticRegression(class_weight="balanced", max_iter=2000)),
            ]
        )
        try:
            pipeline.fit(_texts(texts, titles), list(y))
        except ValueError as exc:  # e.g. "After pruning, no terms remain"
            raise ValueError(f"cannot train the TF-IDF baseline: {exc}") from exc
        self.pipeline = pipeline
        return self

    def predict_proba(
        self, texts: str | Sequence[str], titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Probabilities over :attr:`labels`, one row per text (rows sum to 1)."""
        if self.pipeline is None:
            raise RuntimeError("TfidfBaseline is not fitted; call fit() first")
        items = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(items), len(self.labels)))
        if not items:
            return out
        seen = self.pipeline.predict_proba(_texts(items, titles))
        columns = [self.labels.index(c) for c in self.pipeline.classes_]
        out[:, columns] = seen
        return out

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Label indices: the arg-max (the baseline has no Other threshold)."""
        return proba.argmax(axis=1)


def _texts(texts: Sequence[str], titles: Sequence[str | None] | None) -> list[str]:
    if titles is not None and len(titles) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(titles)} titles")
    heads = titles if titles is not None else [None] * len(texts)
    return [posting_text(t, d) for t, d in zip(heads, texts, strict=True)]
