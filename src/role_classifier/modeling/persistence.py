"""Saving and loading a model: ``config.json``, the head and held-out data as safetensors, the
role embeddings, and a custom backbone or LoRA adapter next to them. Nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..encoders import Encoder
from ..taxonomy import Taxonomy
from .config import ModelConfig
from .held_out import HELD_OUT_NAME, HeldOut
from .names import DEFAULT_MODEL_DIR, resolve_model_name
from .prototypes import PROTOTYPES_NAME, write_prototypes
from .scoring import SECTIONS_DIR, Scoring
from .training_features import TRAINING_FEATURES, TrainingFeatures

__all__ = ["CONFIG_NAME", "FORMAT_VERSION", "WEIGHTS_NAME", "Persistence"]

FORMAT_VERSION = 1
WEIGHTS_NAME = "head.safetensors"
CONFIG_NAME = "config.json"

_Model = TypeVar("_Model", bound="Persistence")


class Persistence(Scoring):
    """``save_pretrained`` and ``from_pretrained``."""

    metadata: dict[str, Any]
    held_out: HeldOut | None
    training_features: TrainingFeatures | None

    def save_pretrained(self, path: str | Path, model_card: str | None = None) -> None:
        """Write ``config.json``, ``head.safetensors`` (when trained) and ``README.md``.

        Example:
            >>> clf.save_pretrained("models/mine")  # doctest: +SKIP
        """
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = dataclasses.asdict(self.config)
        if self.config.backbone == "bundled" and self.config.adapter:
            self.encoder.save_adapter(path / "adapter")  # LoRA on the bundled backbone: small
            config["adapter"] = "adapter"
        elif self.config.backbone != "bundled":  # a custom or fine-tuned backbone travels along
            _save_backbone(self.encoder, path / "backbone")
            config["backbone"] = "backbone"
            config["adapter"] = ""
        data = {
            "format_version": FORMAT_VERSION,
            "labels": self.labels,
            "config": config,
            "taxonomy": self.taxonomy.to_dict(),
            "has_head": self.head is not None,
            "metadata": self.metadata,
        }
        (path / CONFIG_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        if self.config.read == "duties" and self.source != path:
            self.section_reader.save(path / SECTIONS_DIR)  # the reader travels with the model
        if self.head is not None:
            save_file(
                {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.head.items()},
                str(path / WEIGHTS_NAME),
            )
        if model_card is not None:
            (path / "README.md").write_text(model_card, encoding="utf-8")
        if self.held_out is not None:  # held_out.safetensors: role shares, the review band
            self.held_out.save(path)
        self._save_training_features(path)
        key = self.prototype_key() if self._encoder is not None else None
        if key is not None:  # role embeddings for this ONNX build, so loading needs no pass
            write_prototypes(path / PROTOTYPES_NAME, key, self._role_prototypes())

    def _save_training_features(self, path: Path) -> None:
        """:data:`TRAINING_FEATURES`: from memory (just trained), or copied from the folder the
        model was loaded from; none for an adapted model (its head is not the training's), and a
        stale file in ``path`` is removed so ``adapt`` never refits on another model's rows."""
        import shutil

        target = path / TRAINING_FEATURES
        loaded_from = None if self.source is None else self.source / TRAINING_FEATURES
        if self.training_features is not None:
            self.training_features.save(target)
        elif loaded_from is not None and loaded_from.is_file():
            if loaded_from.resolve() != target.resolve():
                shutil.copyfile(loaded_from, target)
        elif target.is_file():
            target.unlink()

    @classmethod
    def from_pretrained(
        cls: type[_Model],
        path: str | Path = "default",
        taxonomy: Taxonomy | None = None,
        backend: str = "onnx",
    ) -> _Model:
        """Load a saved model directory, ``"default"`` (built in) or ``"zero-shot"``.

        ``taxonomy`` replaces the saved taxonomy; for a trained model its labels must match.
        Weights are read with safetensors: nothing is unpickled.

        Example:
            >>> RoleClassifier.from_pretrained("zero-shot").is_zero_shot  # doctest: +SKIP
            True
        """
        from safetensors.numpy import load_file

        name = resolve_model_name(path)  # 'Zero-Shot' is 'zero-shot'; unknown names list the valid
        if name == "zero-shot":
            return cls(taxonomy=taxonomy, backend=backend)  # type: ignore[call-arg]
        path = DEFAULT_MODEL_DIR if name == "default" else Path(name)
        cfg_file = path / CONFIG_NAME
        if not cfg_file.is_file():
            raise FileNotFoundError(f"{path}: not a saved role-classifier model (no {CONFIG_NAME})")
        data = json.loads(cfg_file.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{cfg_file}: unsupported format_version {data.get('format_version')}")
        config = ModelConfig.from_dict(data["config"])
        if config.backbone not in ("bundled", "") and not Path(config.backbone).is_absolute():
            config.backbone = str((path / config.backbone).resolve())
        if config.adapter and not Path(config.adapter).is_absolute():
            config.adapter = str((path / config.adapter).resolve())
        saved_tax = Taxonomy.from_dict(data["taxonomy"], source=str(cfg_file))
        head = load_file(str(path / WEIGHTS_NAME)) if data.get("has_head") else None
        if taxonomy is not None and head is not None and taxonomy.labels != saved_tax.labels:
            raise ValueError(
                f"{path} was trained on labels {saved_tax.labels}; a taxonomy with labels "
                f"{taxonomy.labels} needs the zero-shot model or retraining"
            )
        clf = cls(taxonomy or saved_tax, config, head, data.get("metadata", {}), backend=backend)  # type: ignore[call-arg]
        clf.source = path
        if (path / HELD_OUT_NAME).is_file():  # saved by training since role shares came in
            clf.held_out = HeldOut.load(path)
        return clf


def _save_backbone(encoder: Encoder, folder: Path) -> None:
    """A torch backbone is saved as it is in memory (fine-tuned weights, adapters merged in);
    an ONNX encoder's backbone is the unchanged source folder, copied."""
    import shutil

    from ..encoders.torch_backend import TorchEncoder

    if isinstance(encoder, TorchEncoder):
        encoder.model.save_pretrained(str(folder))
        encoder.tokenizer.save_pretrained(str(folder))
    elif encoder.path.resolve() != folder.resolve():
        shutil.copytree(encoder.path, folder, dirs_exist_ok=True)
