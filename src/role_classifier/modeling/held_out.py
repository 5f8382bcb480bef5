"""The model's out-of-fold (held-out) scores: how it errs, saved with it at training time.

Every training posting is scored by a head fitted without its fold, once with its title and once
from its description alone; ``held_out.safetensors`` in the model folder keeps those calibrated
probabilities with the true labels. Role shares (:mod:`role_classifier.shares`) correct a feed's
counts with them, and the review band's thresholds are found on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .head import abstain

__all__ = ["HELD_OUT_NAME", "HeldOut", "HeldOutError"]


class HeldOutError(UserError):
    """Held-out data that cannot be read or used; the message is one line."""


HELD_OUT_NAME = "held_out.safetensors"
"""the file, in a model folder, that holds the model's out-of-fold calibrated probabilities."""
_HELD_OUT_FORMAT = "1"


@dataclass(frozen=True)
class HeldOut:
    """The model's out-of-fold calibrated probabilities, with the true labels.

    Training scores every training posting with a head fitted without its fold, once with its
    title and once from its description alone (a posting without a title only the second way).
    These rows say how the model errs; :func:`acc`, :func:`pacc` and :func:`em` correct a feed's
    counts with them.

    Attributes:
        proba: (n, k) calibrated probabilities, columns in ``labels`` order.
        y: (n,) the true label index of each row.
        titled: (n,) whether the row was scored with a title.
        labels: the k labels, in the model's order.
        other_threshold: the model's Other threshold (decisions are arg-max, except that a row
            whose best non-Other role is below it is Other); 0 for none.
        other_label: the label that ``other_threshold`` falls back to.

    Example:
        >>> held = HeldOut.load("models/mine")  # doctest: +SKIP
        >>> held.prior()  # the training label mix  # doctest: +SKIP
    """

    proba: np.ndarray
    y: np.ndarray
    titled: np.ndarray
    labels: tuple[str, ...]
    other_threshold: float = 0.0
    other_label: str = "Other"

    def __post_init__(self) -> None:
        proba = np.asarray(self.proba, dtype=np.float64)
        y = np.asarray(self.y, dtype=np.int64).reshape(-1)
        titled = np.asarray(self.titled, dtype=bool).reshape(-1)
        labels = tuple(str(label) for label in self.labels)
        if proba.ndim != 2 or proba.shape[1] != len(labels):
            raise HeldOutError(
                f"held-out probabilities have shape {proba.shape}, expected (n, {len(labels)})"
            )
        if not len(y) == len(titled) == len(proba):
            raise HeldOutError(
                f"held-out rows disagree: {len(proba)} probabilities, {len(y)} labels, "
                f"{len(titled)} title flags"
            )
        if len(y) and (y.min() < 0 or y.max() >= len(labels)):
            raise HeldOutError(f"held-out label indices outside 0..{len(labels) - 1}")
        object.__setattr__(self, "proba", proba)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "titled", titled)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "other_threshold", float(self.other_threshold))

    def __len__(self) -> int:
        return len(self.y)

    def prior(self) -> np.ndarray:
        """The label mix of the held-out rows (the training prior), shape (k,)."""
        return np.bincount(self.y, minlength=len(self.labels)) / max(len(self.y), 1)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Label indices of probability rows under this model's rule (arg-max, Other threshold)."""
        if self.other_label not in self.labels:
            return np.asarray(proba).argmax(axis=1)
        return abstain(proba, self.labels.index(self.other_label), self.other_threshold)

    def save(self, folder: str | Path) -> Path:
        """Write ``held_out.safetensors`` into ``folder`` (created if needed); returns the file.

        Example:
            >>> held.save("models/mine")  # doctest: +SKIP
            PosixPath('models/mine/held_out.safetensors')
        """
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / HELD_OUT_NAME
        tensors = {
            "proba": np.ascontiguousarray(self.proba, dtype=np.float32),
            "y": np.ascontiguousarray(self.y, dtype=np.int64),
            "titled": np.ascontiguousarray(self.titled, dtype=np.uint8),
        }
        metadata = {
            "format": _HELD_OUT_FORMAT,
            "labels": json.dumps(list(self.labels)),
            "other_threshold": repr(self.other_threshold),
            "other_label": self.other_label,
        }
        save_file(tensors, str(path), metadata=metadata)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> HeldOut:
        """Read ``held_out.safetensors`` from a model folder (or the file itself).

        Raises:
            FileNotFoundError: the folder has no held-out file (a model saved before it existed).
        """
        from safetensors import safe_open

        path = Path(folder)
        if path.is_dir():
            path = path / HELD_OUT_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no held-out calibration data (retrain the model with this version of "
                "role-classifier, which saves it)"
            )
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _HELD_OUT_FORMAT:
                raise HeldOutError(f"{path}: unsupported held-out format {meta.get('format')}")
            return cls(
                proba=f.get_tensor("proba"),
                y=f.get_tensor("y"),
                titled=f.get_tensor("titled").astype(bool),
                labels=tuple(json.loads(meta["labels"])),
                other_threshold=float(meta.get("other_threshold", "0")),
                other_label=meta.get("other_label", "Other"),
            )
