"""Encoders: text windows in, one vector per window out, on torch or ONNX Runtime.

``base`` owns windowing, batching and pooling; ``torch_backend`` and ``onnx_backend`` differ
only in the forward pass; ``onnx_export`` builds the int8 file (torch, in a process of its own).
Nothing here imports torch until the torch backend is asked for.
"""

from __future__ import annotations

from pathlib import Path

from .base import ADAPTER_WEIGHTS, BACKENDS, Encoder, Windows, bundled_backbone_path, mean_pool_np

__all__ = [
    "ADAPTER_WEIGHTS",
    "BACKENDS",
    "Encoder",
    "Windows",
    "bundled_backbone_path",
    "make_encoder",
    "mean_pool_np",
]


def make_encoder(
    backend: str = "onnx",
    path: str | Path | None = None,
    window_tokens: int = 128,
    max_windows: int = 32,
    max_chars: int = 60_000,
    batch_size: int = 32,
    adapter: str | Path | None = None,
) -> Encoder:
    """The encoder for ``backend`` ('onnx' or 'torch') over the backbone at ``path``.

    Example:
        >>> make_encoder("torch").backend  # doctest: +SKIP
        'torch'
    """
    if backend == "torch":
        from .torch_backend import TorchEncoder

        return TorchEncoder(path, window_tokens, max_windows, max_chars, batch_size, adapter)
    if backend == "onnx":
        from .onnx_backend import OnnxEncoder

        return OnnxEncoder(path, window_tokens, max_windows, max_chars, batch_size, adapter)
    raise ValueError(f"unknown backend {backend!r}: use {' or '.join(BACKENDS)}")
