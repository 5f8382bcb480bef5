"""Decisions: calibrated probabilities, the label (with the Other threshold) and the review band.

:class:`Decisions` turns the raw scores of :class:`~.scoring.Scoring` into what the model
answers; the rules themselves live in :mod:`.head` (the one abstain rule, the one review rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .head import abstain, review_band
from .scoring import Encoded, Scoring

__all__ = ["Decisions", "Prediction"]


@dataclass
class Prediction:
    """The answer for one posting."""

    label: str
    confidence: float
    scores: dict[str, float]
    runner_ups: list[tuple[str, float]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    truncated: bool = False
    review: str = "review"
    """``auto`` or ``review``: whether a person should check the answer (:func:`.review_band`)."""
    warning: str | None = None
    """something about the input worth a look (e.g. no duty text found: read the whole text)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "runner_ups": [{"label": k, "score": round(v, 4)} for k, v in self.runner_ups],
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "evidence": self.evidence,
            "truncated": self.truncated,
            "review": self.review,
            "warning": self.warning,
        }

    def as_answer(self, title: str | None, model: str) -> dict[str, Any]:
        """The one JSON answer for an ad: :meth:`to_dict` plus the title read and the model name.

        ``role-classifier classify --json`` prints it and ``POST /v1/classify`` returns it.

        Args:
            title: the title the posting was read with (given, or guessed from the first line).
            model: the model as it was named (``default``, ``zero-shot`` or a directory).
        """
        return {**self.to_dict(), "title": title, "model": model}


class Decisions(Scoring):
    """Probabilities, labels and review bands: the model's decision, made once."""

    def proba_from_logits(self, z: np.ndarray, has_title: np.ndarray | None = None) -> np.ndarray:
        """Softmax of raw scores divided by the temperature (calibrated for a trained head).

        A trained head has one temperature for postings with a title and one for descriptions
        alone (``has_title`` says which row is which; all with a title when None).
        """
        z = np.asarray(z, dtype=np.float64).reshape(-1, len(self.labels))
        c = self.config
        if self.head is None:  # the zero-shot head's weights are already divided by it
            temperature = np.ones(len(z))
        else:
            plain = c.temperature_description_only or c.temperature
            titled = np.ones(len(z), bool) if has_title is None else np.asarray(has_title, bool)
            temperature = np.where(titled, c.temperature, plain)
        z = z / temperature[:, None]
        z = z - z.max(axis=1, keepdims=True) if len(z) else z
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True) if len(z) else p

    def proba_from_encoded(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Calibrated probabilities (n, L) for encoded postings."""
        x = self.feature_matrix(encoded)
        return self.proba_from_logits(self.logits_from_features(x), self.layout.titled(x))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Label indices from probabilities, applying the Other threshold."""
        other = self.labels.index(self.taxonomy.other_label)
        return abstain(proba, other, self.config.other_threshold)

    def review_bands(self, proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """``auto`` or ``review`` per row, by the model's review thresholds."""
        c = self.config
        return review_band(proba, labels, c.review_confidence, c.review_margin)

    def predictions(
        self,
        encoded: Sequence[Encoded],
        proba: np.ndarray,
        labels: np.ndarray,
        quotes: Sequence[list[str]],
        top_k: int = 3,
    ) -> list[Prediction]:
        """One :class:`Prediction` per posting from its decision (``labels`` from :meth:`decide`),
        its runner-ups (``top_k`` of them) and its evidence ``quotes``."""
        bands = self.review_bands(proba, labels)
        out = []
        for i, enc in enumerate(encoded):
            scores = {lab: float(p) for lab, p in zip(self.labels, proba[i])}
            label = self.labels[labels[i]]
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            runner_ups = [(k, v) for k, v in ranked if k != label][:top_k]
            out.append(
                Prediction(
                    label,
                    scores[label],
                    scores,
                    runner_ups,
                    quotes[i],
                    enc.truncated,
                    bands[i],
                    enc.note,
                )
            )
        return out
