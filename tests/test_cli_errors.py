"""Every user mistake is one line on stderr and exit code 2, before any work, leaving no files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import role_classifier.cli
from role_classifier.cli import app
from role_classifier.modeling.model import RoleClassifier

runner = CliRunner()
ROLES = {
    "ML Engineer": "Train machine learning models in pytorch for production.",
    "MLOps Engineer": "Run model serving on kubernetes and ml pipelines.",
    "Prompt Engineer": "Write prompts for our llm and grade the answers.",
    "AI Engineer": "Build rag with a vector database and llm apis.",
    "Other": "Nurse for the night shift; sales analyst dashboard sql.",
}


@pytest.fixture()
def train_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["title", "description", "label"])
        for label, text in ROLES.items():
            w.writerows([f"{label} {i}", f"{text} Team {i}.", label] for i in range(4))
    return path


def _one_line_error(result, *needles: str) -> str:  # noqa: ANN001 - click's Result
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def test_train_output_that_is_a_file(train_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.txt"
    out.write_text("keep me")
    before = _files(tmp_path)
    result = runner.invoke(app, ["train", str(train_csv), "--output", str(out)])
    _one_line_error(result, f"--output {out} is a file")
    assert out.read_text() == "keep me" and _files(tmp_path) == before
    result = runner.invoke(app, ["train", str(train_csv), "-o", str(out), "--overwrite"])
    _one_line_error(result, "is a file")


@pytest.mark.parametrize("name", ["nope.yaml", "configs/trian.yaml"])
def test_train_config_that_does_not_exist(train_csv: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["train", str(train_csv), "-o", str(out), "--config", str(tmp_path / name)]
    )
    _one_line_error(result, f"--config {tmp_path / name}: no such file")
    assert not out.exists()


def test_train_config_that_is_a_folder(train_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", str(train_csv), "-o", str(tmp_path / "out"), "--config", str(tmp_path)]
    )
    _one_line_error(result, "no such file")


@pytest.mark.parametrize(
    ("text", "line"),
    [("seed: 13\nc: [0.1\n", 2), ("seed: 13\n  c: 0.1\n", 2), ("seed: 13\nc: 'x\n", 2)],
)
def test_train_config_with_bad_yaml(train_csv: Path, tmp_path: Path, text: str, line: int) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(text)
    out = tmp_path / "out"
    result = runner.invoke(app, ["train", str(train_csv), "-o", str(out), "--config", str(config)])
    _one_line_error(result, f"{config}:{line}:", "invalid YAML")
    assert not out.exists()


def test_train_config_with_unknown_key(train_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "train.yaml"
    config.write_text("sead: 13\n")
    result = runner.invoke(
        app, ["train", str(train_csv), "-o", str(tmp_path / "out"), "--config", str(config)]
    )
    _one_line_error(result, "unknown training config key(s): sead")


@pytest.fixture()
def tiny_train(monkeypatch: pytest.MonkeyPatch, tiny_trained: RoleClassifier) -> list:
    """`train` that records the config it was given and returns the tiny model unfitted (what
    is checked here is the command line around it: which config, what the card says)."""
    import role_classifier.training as training

    seen = []

    def fake(data, config, taxonomy, progress=None):  # noqa: ANN001, ANN202
        seen.append(config)
        return tiny_trained

    monkeypatch.setattr(training, "train", fake)
    return seen


@pytest.mark.parametrize("local_config", [True, False])
def test_train_reads_the_default_config_and_records_it(
    train_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_train: list,
    local_config: bool,
) -> None:
    work = tmp_path / "work"
    (work / "configs").mkdir(parents=True)
    if local_config:  # configs/train.yaml in the working folder wins over the shipped one
        (work / "configs" / "train.yaml").write_text("c: 0.5\nwindow_tokens: 32\n")
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["train", str(train_csv), "-o", "out", "--seed", "7"])
    assert result.exit_code == 0, result.output
    (config,) = tiny_train
    assert config.seed == 7
    card = (work / "out" / "README.md").read_text()
    if local_config:
        assert config.c == 0.5 and config.window_tokens == 32
        assert "--output out --config configs/train.yaml --seed 7" in card
    else:  # the shipped copy, named by its full path
        from role_classifier.training import TrainConfig

        shipped = Path(role_classifier.__file__).parent / "configs" / "train.yaml"
        assert config == TrainConfig.from_yaml(shipped, seed=7)
        assert f"--output out --config {shipped.as_posix()} --seed 7" in card


@pytest.mark.parametrize("name", ["Zero-Shot", "ZERO-SHOT", "zero_shot", "Default"])
def test_model_names_are_case_insensitive(
    name: str, monkeypatch: pytest.MonkeyPatch, tiny_zero_shot: RoleClassifier
) -> None:
    asked = []

    def fake(model, taxonomy=None, backend="onnx"):  # noqa: ANN001, ANN202
        asked.append(model)
        return tiny_zero_shot

    monkeypatch.setattr(RoleClassifier, "from_pretrained", staticmethod(fake))
    result = runner.invoke(app, ["classify", "--json", "-m", name, "Run model serving."])
    assert result.exit_code == 0, result.output
    assert asked == [name.lower().replace("_", "-")]
    assert json.loads(result.stdout)["model"] == asked[0]


@pytest.mark.parametrize("command", ["classify", "label-csv", "evaluate"])
def test_unknown_model_lists_the_valid_names(command: str, tmp_path: Path) -> None:
    data = tmp_path / "jobs.csv"
    data.write_text("description,label\nRun model serving.,MLOps Engineer\n")
    args = {
        "classify": ["classify", "Run model serving."],
        "label-csv": ["label-csv", str(data), str(tmp_path / "out.csv"), "--text-column", "x"],
        "evaluate": ["evaluate", str(data), "--label-column", "label", "--text-column", "x"],
    }[command]
    result = runner.invoke(app, [*args, "--model", "zero-shoot"], input="")
    line = _one_line_error(result, "unknown model 'zero-shoot'", "'default'", "'zero-shot'")
    assert "folder saved by" in line
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob("out.csv*"))
