"""``TrainConfig``: the settings of one training run, the fields of ``configs/train.yaml``.

The dataclass defaults are the shipped ``configs/train.yaml`` (``tests/test_training.py``
checks them field by field), so ``TrainConfig()`` and ``role-classifier train`` fit the same head.

Example:
    >>> TrainConfig.from_dict({"c": 1}).c
    1
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CALIBRATIONS", "TrainConfig"]

CALIBRATIONS = ("cross-val", "dev", "none")


@dataclass
class TrainConfig:
    """Settings of one training run (``configs/train.yaml``); unknown keys are rejected."""

    seed: int = 13
    """seed for the folds, the dev split and the solver: the same command twice gives the same
    model."""
    calibration: str = "cross-val"
    """where the temperatures (and the Other threshold) are fitted: 'cross-val' (out-of-fold
    scores of every row), 'dev' (one held-out dev split; required with fine-tuning, so the
    backbone never sees the calibration rows) or 'none' (temperature 1)."""
    calibration_folds: int = 5
    """folds for ``calibration: cross-val``; postings sharing a group (company) stay together."""
    dev_fraction: float = 0.2
    """share of rows held out (stratified) as the dev split (``calibration: dev``)."""
    anchor_zero_shot: bool = True
    """pull the head's weights towards the zero-shot scorer instead of towards zero."""
    c: float = 0.1
    """inverse L2 strength of the logistic regression on standardised features."""
    title_embedding_scale: float = 0.5
    """scales the standardised title-embedding features against the zero-shot scores: below 1
    they are penalised harder (0 leaves them out)."""
    embedding_scale: float = 1.0
    """the same for the mean description-window embedding."""
    class_weight: str = "none"
    """'balanced' reweights classes by inverse frequency; 'none' does not."""
    max_iter: int = 3000
    """solver iterations."""
    description_only_view: bool = True
    """also train on every posting without its title, so descriptions alone are read well."""
    tune_other_threshold: bool = False
    """pick the Other threshold that maximises held-out macro-F1 (else 0: plain arg-max)."""
    review_precision: float = 0.98
    """the review band: thresholds found on held-out scores so that ``auto`` answers reach this
    precision (the rest are ``review``)."""
    finetune_epochs: int = 0
    """epochs of full backbone fine-tuning before the head is fitted (0: frozen backbone)."""
    finetune_lr: float = 3e-5
    """AdamW learning rate for fine-tuning."""
    finetune_windows: int = 4
    """description windows sampled per posting per fine-tuning epoch (plus its title)."""
    finetune_batch_size: int = 16
    """windows per fine-tuning step."""
    finetune_lora_rank: int = 0
    """train a LoRA adapter of this rank instead of every backbone weight (0: full fine-tune);
    the adapter is what is saved (2.6 MB at rank 16) instead of the whole 90 MB backbone."""
    backend: str = "onnx"
    """the encoder whose features the head is fitted on: 'onnx' (int8, what `classify` and
    `label-csv` use by default; the shipped head is fitted on it) or 'torch' (fp32). Fine-tuning
    always runs on torch."""
    read: str = "duties"
    """which sentences of a description the model reads: 'all', or 'duties' (the job's duties
    and requirements, found by the section reader; see ``ModelConfig.read``)."""
    source_balance: float = 1.0
    """how far training sources (the training files) are balanced: a posting of a source with
    ``n`` rows weighs ``n ** -source_balance`` (the weights rescaled to average 1). 0: every
    posting counts once, so the largest source dominates; 1: every source counts the same."""
    window_tokens: int = 128
    """word-pieces per description window."""
    max_windows: int = 32
    """windows kept per ad."""
    batch_size: int = 32
    """windows per forward pass."""

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATIONS:
            raise ValueError(
                f"calibration must be one of {', '.join(CALIBRATIONS)}, got '{self.calibration}'"
            )
        if self.calibration == "cross-val" and self.calibration_folds < 2:
            raise ValueError(f"calibration_folds must be at least 2, got {self.calibration_folds}")
        if self.read not in ("all", "duties"):
            raise ValueError(f"read must be all or duties, got '{self.read}'")
        if not 0.0 <= self.source_balance <= 1.0:
            raise ValueError(f"source_balance must be between 0 and 1, got {self.source_balance}")
        if self.backend not in ("onnx", "torch"):
            raise ValueError(f"backend must be onnx or torch, got '{self.backend}'")
        if self.finetune_epochs > 0 and self.calibration == "cross-val":
            raise ValueError(
                "fine-tuning (finetune_epochs > 0) needs calibration: dev, so that the "
                "temperatures are fitted on rows the fine-tuned backbone has not seen"
            )

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Load from YAML; ``overrides`` (CLI flags, None = unset) win over the file."""
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a training config must be a mapping")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> TrainConfig:
        """Build from a dict, rejecting unknown keys and values of the wrong type.

        Example:
            >>> TrainConfig.from_dict({"seed": "abc"})
            Traceback (most recent call last):
            ...
            ValueError: <dict>: seed must be an integer, got 'abc'
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(
                f"{source}: unknown training config key(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(fields))}"
            )
        for key, value in data.items():
            kind = type(fields[key].default)
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True  # `c: 1` is a float
            if not ok:
                what = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
                raise ValueError(f"{source}: {key} must be {what[kind]}, got {value!r}")
        return cls(**data)
