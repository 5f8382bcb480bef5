"""``role-classifier info``: versions, the default model, the cache folder and the extras, from
metadata and files only (torch is never imported), plain or as JSON."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier import __version__
from role_classifier.cli import app
from role_classifier.info import DEFAULT_BACKEND, PACKAGES, info

runner = CliRunner()


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, named by ROLE_CLASSIFIER_CACHE and not created yet."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ROLE_CLASSIFIER_CACHE", str(folder))
    return folder


def _hide(monkeypatch: pytest.MonkeyPatch, *dists: str) -> None:
    """Make ``dists`` look uninstalled to importlib.metadata."""
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name in dists:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_info_reports_versions_model_cache_and_extras(cache: Path) -> None:
    about = info()
    assert about["role_classifier"] == __version__
    assert about["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert about["platform"]
    for name in PACKAGES:  # what pip has installed, or None
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = None
        assert about["packages"][name] == expected, name
    model = about["default_model"]
    from role_classifier.modeling.model import DEFAULT_MODEL_DIR, RoleClassifier
    from role_classifier.shares import HELD_OUT_NAME

    assert Path(model["path"]) == DEFAULT_MODEL_DIR
    assert model["labels"] == list(RoleClassifier.from_pretrained("default").labels)
    assert model["backend"] == "onnx"
    assert model["held_out_data"] == (DEFAULT_MODEL_DIR / HELD_OUT_NAME).is_file()
    assert set(about["extras"]) >= {"serve", "ray", "report", "finetune", "train"}
    assert "dev" not in about["extras"]
    serve = about["extras"]["serve"]
    assert serve["needs"] == ["fastapi", "uvicorn", "python-multipart"]
    assert serve["install"] == "pip install 'role-classifier[serve]'"
    json.dumps(about)  # JSON-ready as it is


def test_the_default_backend_is_the_one_commands_use() -> None:
    from role_classifier.cli.common import Backend
    from role_classifier.modeling.loading import load_classifier

    assert DEFAULT_BACKEND == Backend.onnx.value
    assert inspect.signature(load_classifier).parameters["backend"].default == DEFAULT_BACKEND


def test_the_cache_folder_is_measured_not_created(cache: Path) -> None:
    about = info()["cache"]
    assert about == {
        "path": str(cache),
        "configured_by": "ROLE_CLASSIFIER_CACHE",
        "exists": False,
        "size_bytes": 0,
        "files": 0,
        "onnx_models": 0,
    }
    assert not cache.exists()
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "not created yet" in result.stdout and not cache.exists()


def test_the_cache_folder_is_the_one_the_model_uses(cache: Path) -> None:
    from role_classifier.cache import cache_dir

    (cache / "prototypes").mkdir(parents=True)
    (cache / "abc.onnx").write_bytes(b"x" * 1000)
    (cache / "prototypes" / "p.safetensors").write_bytes(b"y" * 24)
    about = info()["cache"]
    assert Path(about["path"]) == cache_dir()
    assert (about["exists"], about["size_bytes"], about["files"], about["onnx_models"]) == (
        True,
        1024,
        2,
        1,
    )
    result = runner.invoke(app, ["info"])
    assert "1.0 KiB in 2 files, 1 ONNX model(s) built" in result.stdout


def test_the_platform_cache_folder_is_named_when_nothing_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platformdirs import user_cache_dir

    monkeypatch.delenv("ROLE_CLASSIFIER_CACHE", raising=False)
    about = info()["cache"]
    assert about["path"] == user_cache_dir("role-classifier", appauthor=False)
    assert about["configured_by"] == "platform"


def test_missing_packages_are_not_installed_and_extras_say_how(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    for present in ("uvicorn", "multipart"):  # the rest of the serve extra, so fastapi is all
        pytest.importorskip(present)
    _hide(monkeypatch, "torch", "fastapi")
    about = info()
    assert about["packages"]["torch"] is None
    assert about["extras"]["serve"]["installed"] is False
    assert about["extras"]["serve"]["missing"] == ["fastapi"]
    assert "torch" in about["extras"]["train"]["missing"]  # (all of it on the base install)
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "torch not installed" in lines
    assert "serve missing fastapi: pip install 'role-classifier[serve]'" in lines


def test_plain_info_names_everything_a_bug_report_needs(cache: Path) -> None:
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"role-classifier {__version__}\n")
    about = info()
    for needle in (
        about["python"]["version"],
        about["platform"],
        about["default_model"]["path"],
        ", ".join(about["default_model"]["labels"]),
        str(cache),
        "$ROLE_CLASSIFIER_CACHE",
        *PACKAGES,
        *about["extras"],
    ):
        assert needle in text, needle


def test_info_json_is_the_library_dict(cache: Path) -> None:
    result = runner.invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == info()


def test_info_never_imports_torch() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from role_classifier.cli import app; "
        "r = CliRunner().invoke(app, ['info', '--json']); assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('torch', 'transformers', 'onnxruntime', 'tokenizers') "
        "if m in sys.modules]; assert not heavy, heavy"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_an_unreadable_default_model_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    import role_classifier.info as info_module

    monkeypatch.setattr(info_module, "DEFAULT_MODEL_DIR", tmp_path / "gone")
    model = info()["default_model"]
    assert model["path"] == str(tmp_path / "gone") and "cannot read" in model["error"]
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "cannot read" in result.stdout and "Packages" in result.stdout
