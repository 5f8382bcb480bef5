"""What ``role-classifier info`` reports, for a bug report: versions, the default model, the cache
folder and the optional extras.

Everything comes from files and package metadata (:mod:`importlib.metadata`): no package is
imported to learn its version, torch least of all, so the answer is instant and still comes where
torch is missing or broken.

Example:
    >>> about = info()
    >>> about["packages"]["torch"]  # a version string, or None when not installed  # doctest: +SKIP
    '2.13.0+cpu'
    >>> sorted(about["extras"])  # doctest: +SKIP
    ['finetune', 'ray', 'report', 'serve', 'train']
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .modeling.names import DEFAULT_MODEL_DIR

__all__ = ["DEFAULT_BACKEND", "PACKAGES", "info"]

PACKAGES = ("onnxruntime", "tokenizers", "numpy", "torch", "transformers")
"""the packages whose versions explain most behaviour: the two backends and what feeds them."""

DEFAULT_BACKEND = "onnx"
"""the backend every command and ``load_classifier`` use unless told otherwise."""

# the default model's files (modeling.persistence and .held_out own these names; they are not
# imported here because that loads numpy, and info must answer at once; modeling.names does not)
_CONFIG_NAME = "config.json"
_HELD_OUT_NAME = "held_out.safetensors"

# a package that ships under several distribution names
_DISTRIBUTIONS = {
    "onnxruntime": (
        "onnxruntime",
        "onnxruntime-gpu",
        "onnxruntime-openvino",
        "onnxruntime-directml",
    )
}
_EXTRA_MARKER = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def info() -> dict[str, Any]:
    """Versions, the default model, the cache folder and the extras, as one JSON-ready dict.

    Returns:
        ``role_classifier`` (version), ``python`` (version, implementation, executable),
        ``platform``, ``cpus``, ``default_model`` (path, labels, backend, held-out data),
        ``packages`` (name: version, or None when not installed), ``cache`` (path,
        ``configured_by`` ``ROLE_CLASSIFIER_CACHE`` or ``platform`` (the user cache folder),
        whether it exists, its size) and ``extras`` (name: installed, missing distributions and
        the command that installs them).

    Example:
        >>> info()["role_classifier"]  # doctest: +SKIP
        '0.1.0'
    """
    return {
        "role_classifier": __version__,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "default_model": _default_model(),
        "packages": {name: _installed_version(name) for name in PACKAGES},
        "cache": _cache(),
        "extras": _extras(),
    }


def _installed_version(package: str) -> str | None:
    """The installed version of ``package`` (any of its distribution names), from its metadata."""
    for dist in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _default_model() -> dict[str, Any]:
    """The built-in model: where it is, its labels, backend, and held-out data and metrics."""
    path = DEFAULT_MODEL_DIR
    about: dict[str, Any] = {"path": str(path)}
    try:
        saved = json.loads((path / _CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {**about, "error": f"cannot read {path / _CONFIG_NAME}: {exc}"}
    meta = saved.get("metadata") or {}
    trained_with = (meta.get("train_config") or {}).get("backend")
    return {
        **about,
        "labels": list(saved.get("labels") or []),
        "backend": DEFAULT_BACKEND,
        "trained_with_backend": trained_with,
        "trained_at": meta.get("trained_at"),
        "training_rows": (meta.get("training_rows") or {}).get("total"),
        "held_out_data": (path / _HELD_OUT_NAME).is_file(),
        "held_out_metrics": meta.get("held_out_metrics"),
    }


def _cache() -> dict[str, Any]:
    """The cache folder that :func:`role_classifier.cache.cache_dir` would use, measured but not
    created (``cache_dir`` creates it, and falls back elsewhere when it cannot be written)."""
    from .cache import CACHE_ENV

    configured = os.environ.get(CACHE_ENV)
    if configured:
        path, source = Path(configured).expanduser(), CACHE_ENV
    else:
        from platformdirs import user_cache_dir

        path, source = Path(user_cache_dir("role-classifier", appauthor=False)), "platform"
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    return {
        "path": str(path),
        "configured_by": source,
        "exists": path.is_dir(),
        "size_bytes": sum(_size(p) for p in files),
        "files": len(files),
        "onnx_models": sum(p.suffix == ".onnx" for p in files),
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed while we counted
        return 0


def _extras() -> dict[str, dict[str, Any]]:
    """Each optional extra of the package (``dev`` aside): installed or not, and how to add it."""
    needs: dict[str, list[str]] = {}
    try:
        requirements = importlib.metadata.requires("role-classifier") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        requirements = []
    for requirement in requirements:
        extra, name = _EXTRA_MARKER.search(requirement), _REQUIREMENT_NAME.match(requirement)
        if extra and name and extra.group(1) != "dev":
            needs.setdefault(extra.group(1), []).append(name.group(1))
    extras = {
        extra: _availability(dists, f"pip install 'role-classifier[{extra}]'")
        for extra, dists in sorted(needs.items())
    }
    return extras


def _availability(dists: list[str], install: str) -> dict[str, Any]:
    missing = [d for d in dists if _installed_version(d) is None]
    return {"installed": not missing, "needs": dists, "missing": missing, "install": install}
