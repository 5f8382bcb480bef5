"""Which model and taxonomy labelled a file: ``OUTPUT.meta.json``, written next to the output.

``label-csv`` writes it when OUTPUT is finished (not for standard output), whatever OUTPUT's
format (the Ray engine's folder of part files gets one next to it, ``OUTPUT.meta.json``), so a CSV says who labelled it as well as a Parquet file does; ``shares`` reads it to use
that model's held-out data, and refuses another ``--model``. The file is small JSON:

.. code-block:: json

    {"labelled_by": "role-classifier 0.1.0", "model": "default", "model_fingerprint": "…",
     "taxonomy": {"source": "…/taxonomy.yaml", "labels": ["…"], "fingerprint": "…"},
     "text_column": "description", "title_column": "title", "all_scores": true}

``model`` is ``default``, ``zero-shot``, the absolute path of a saved model folder, or
``<memory>`` for a model that was never saved (then no held-out data can be found from it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..modeling.model import DEFAULT_MODEL_DIR, RoleClassifier
from .options import LabelOptions

__all__ = [
    "IN_MEMORY",
    "META_SUFFIX",
    "meta_path",
    "meta_text",
    "model_name",
    "read_meta",
    "write_meta",
]

META_SUFFIX = ".meta.json"
IN_MEMORY = "<memory>"


def meta_path(output: str | Path) -> Path:
    """``OUTPUT.meta.json``: where the record of a labelled file sits.

    Example:
        >>> meta_path("out/labelled.csv").as_posix()
        'out/labelled.csv.meta.json'
    """
    output = Path(output)
    return output.with_name(output.name + META_SUFFIX)


def model_name(clf: RoleClassifier) -> str:
    """How ``--model`` names ``clf``: ``default``, ``zero-shot``, a folder, or ``<memory>``."""
    if clf.is_zero_shot:
        return "zero-shot"
    if clf.source is None:
        return IN_MEMORY
    source = Path(clf.source).resolve()
    return "default" if source == DEFAULT_MODEL_DIR.resolve() else str(source)


def write_meta(output: Path, clf: RoleClassifier, options: LabelOptions, fingerprint: str) -> Path:
    """Record which model and taxonomy labelled ``output`` (atomically: temp file, rename)."""
    path = meta_path(output)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(meta_text(clf, options, fingerprint), encoding="utf-8")
    os.replace(tmp, path)
    return path


def meta_text(clf: RoleClassifier, options: LabelOptions, fingerprint: str) -> str:
    """The record of a labelled output as the JSON text ``OUTPUT.meta.json`` holds."""
    from .. import __version__

    taxonomy = clf.taxonomy.to_dict()
    digest = hashlib.sha256(json.dumps(taxonomy, sort_keys=True, default=str).encode())
    meta: dict[str, Any] = {
        "labelled_by": f"role-classifier {__version__}",
        "model": model_name(clf),
        "model_fingerprint": fingerprint,
        "taxonomy": {
            "source": clf.taxonomy.source,
            "labels": list(clf.labels),
            "fingerprint": digest.hexdigest()[:16],
        },
        "text_column": options.text_column,
        "title_column": options.title_column,
        "all_scores": options.all_scores,
        "min_confidence": options.min_confidence,
    }
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def read_meta(output: str | Path) -> dict[str, Any] | None:
    """The record of a labelled file, or None when it has none (or it cannot be read)."""
    path = meta_path(output)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and isinstance(meta.get("model"), str) else None
