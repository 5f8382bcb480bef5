"""``serve`` reads every option from ``ROLE_CLASSIFIER_*`` too (a container's settings); the
command line wins, and --help names each variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import role_classifier.cli.common as common
from role_classifier.cli import app

runner = CliRunner()
VARIABLES = {
    "--host": "ROLE_CLASSIFIER_HOST",
    "--port": "ROLE_CLASSIFIER_PORT",
    "--model": "ROLE_CLASSIFIER_MODEL",
    "--taxonomy": "ROLE_CLASSIFIER_TAXONOMY",
    "--backend": "ROLE_CLASSIFIER_BACKEND",
    "--workers": "ROLE_CLASSIFIER_WORKERS",
    "--max-upload-mb": "ROLE_CLASSIFIER_MAX_UPLOAD_MB",
    "--batch-wait-ms": "ROLE_CLASSIFIER_BATCH_WAIT_MS",
}
TAXONOMY = Path(__file__).parent.parent / "src" / "role_classifier" / "configs" / "taxonomy.yaml"


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``serve`` hands uvicorn.run, and the model it loaded (no socket is opened)."""
    uvicorn = pytest.importorskip("uvicorn")

    seen: dict[str, Any] = {}
    load = common.load_model

    def load_model(model: str, taxonomy: Path | None, backend: str = "onnx"):  # noqa: ANN202
        seen["loaded"] = (model, taxonomy, backend)
        return load(model, taxonomy, backend)

    monkeypatch.setattr(common, "load_model", load_model)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    for name in VARIABLES.values():  # nothing from the environment the tests run in
        monkeypatch.delenv(name, raising=False)
    return seen


def test_every_serve_option_names_its_variable() -> None:
    cmd = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    options = {p.opts[-1] if p.opts[-1].startswith("--") else p.opts[0]: p for p in cmd.params}
    for flag, name in VARIABLES.items():
        assert options[flag].envvar == name, flag
    shown = " ".join(runner.invoke(app, ["serve", "--help"]).stdout.split())
    for name in VARIABLES.values():
        assert f"env var: {name}" in shown, name
    classify = runner.invoke(app, ["classify", "--help"])
    assert "env var" not in " ".join(classify.stdout.split())  # the shared options: no variable


def test_serve_reads_its_options_from_the_environment(
    served: dict[str, Any], tiny_model_dir: Path
) -> None:
    env = {
        "ROLE_CLASSIFIER_HOST": "0.0.0.0",
        "ROLE_CLASSIFIER_PORT": "8123",
        "ROLE_CLASSIFIER_MODEL": str(tiny_model_dir),
        "ROLE_CLASSIFIER_TAXONOMY": str(TAXONOMY),
        "ROLE_CLASSIFIER_BACKEND": "TORCH",
        "ROLE_CLASSIFIER_WORKERS": "1",
        "ROLE_CLASSIFIER_MAX_UPLOAD_MB": "2",
        "ROLE_CLASSIFIER_BATCH_WAIT_MS": "7.5",
    }
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
    assert served["loaded"] == (str(tiny_model_dir), TAXONOMY, "torch")
    config = served["app"].state.config
    assert config.model_name == str(tiny_model_dir) and config.workers == 1
    assert config.max_upload_bytes == 2 << 20 and config.max_wait_ms == 7.5


def test_the_command_line_wins_over_the_environment(
    served: dict[str, Any], tiny_model_dir: Path
) -> None:
    env = {"ROLE_CLASSIFIER_PORT": "8123", "ROLE_CLASSIFIER_MODEL": "no/such/model"}
    args = ["serve", "--port", "9000", "--model", str(tiny_model_dir), "--backend", "torch"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert served["port"] == 9000 and served["host"] == "127.0.0.1"  # the default stays
    assert served["loaded"][0] == str(tiny_model_dir)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("ROLE_CLASSIFIER_PORT", "eighty", "'--port' (env var: 'ROLE_CLASSIFIER_PORT')"),
        ("ROLE_CLASSIFIER_BACKEND", "cuda", "'--backend' (env var: 'ROLE_CLASSIFIER_BACKEND')"),
    ],
)
def test_a_bad_variable_is_exit_2_naming_it(
    served: dict[str, Any], name: str, value: str, needle: str
) -> None:
    result = runner.invoke(app, ["serve"], env={name: value})
    assert result.exit_code == 2
    assert needle in " ".join(result.stderr.split())
    assert "app" not in served


def test_a_bad_model_from_the_environment_is_one_error_line(served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve"], env={"ROLE_CLASSIFIER_MODEL": "no/such/dir"})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown model 'no/such/dir'")
    assert "app" not in served
