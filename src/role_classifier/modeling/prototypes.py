"""Role embeddings (each role's titles and work phrases, embedded) saved beside a model.

They depend on the taxonomy and on the encoder that embedded them (``RoleClassifier.prototype_key``);
a model's own are saved with it, those of another ``--taxonomy`` in the cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..cache import CacheError, cache_dir

__all__ = ["PROTOTYPES_NAME", "prototype_files", "read_prototypes", "write_prototypes"]

PROTOTYPES_NAME = "prototypes.safetensors"


def prototype_files(source: Path | None, key: str | None) -> tuple[Path | None, Path | None]:
    """Where role embeddings for ``key`` may be: saved with the model, and in the cache folder
    (None where there is none, and both None without a key)."""
    if key is None:
        return None, None
    saved = source / PROTOTYPES_NAME if source is not None else None
    try:
        return saved, cache_dir() / "prototypes" / f"{key}.safetensors"
    except CacheError:
        return saved, None


def read_prototypes(
    file: Path, key: str | None
) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Role embeddings saved for ``key``; None when absent, unreadable or for another key."""
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                return None
            n = int(meta["roles"])
            return (
                [f.get_tensor(f"titles.{i}") for i in range(n)],
                [f.get_tensor(f"phrases.{i}") for i in range(n)],
            )
    except Exception:  # missing, corrupt or of another format: recomputed
        return None


def write_prototypes(
    file: Path, key: str | None, protos: tuple[list[np.ndarray], list[np.ndarray]]
) -> None:
    """Save role embeddings atomically; a cache that cannot be written is skipped."""
    from safetensors.numpy import save_file

    titles, phrases = protos
    tensors = {f"titles.{i}": t for i, t in enumerate(titles)}
    tensors.update({f"phrases.{i}": p for i, p in enumerate(phrases)})
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(tmp), metadata={"key": str(key), "roles": str(len(titles))})
        os.replace(tmp, file)
    except OSError:
        tmp.unlink(missing_ok=True)
