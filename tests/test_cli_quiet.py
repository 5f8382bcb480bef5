"""``--quiet`` / ``-q`` on the long commands: no progress bar, summary or notes on stderr; the
answer (files, stdout) is the same, and errors are still one line with exit code 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.modeling.model import RoleClassifier

runner = CliRunner()
ROLES = {
    "ML Engineer": "Train machine learning models in pytorch for production.",
    "MLOps Engineer": "Run model serving on kubernetes and ml pipelines.",
    "Prompt Engineer": "Write prompts for our llm and grade the answers.",
    "Other": "Nurse for the night shift; sales analyst dashboard sql.",
}
LONG_COMMANDS = ["label-csv", "evaluate", "train", "shares"]


@pytest.fixture()
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["title", "description", "label"])
        for label, text in ROLES.items():
            w.writerows([f"{label} {i}", f"{text} Team {i}.", label] for i in range(3))
    return path


def _options(command: str) -> set[str]:
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {opt for p in cmd.params for opt in p.opts}


@pytest.mark.parametrize("command", LONG_COMMANDS)
def test_long_commands_take_quiet(command: str) -> None:
    if command == "shares" and "--quiet" not in _options("shares"):
        pytest.skip(
            "shares --quiet: cli/shares.py has another owner (render.print_shares is ready)"
        )
    assert {"--quiet", "-q"} <= _options(command)


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_label_csv_quiet_writes_the_same_file_and_nothing_on_stderr(
    flag: str, labelled_csv: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    args = ["--text-column", "description", "-m", str(tiny_model_dir), "--backend", "torch"]
    loud = runner.invoke(app, ["label-csv", str(labelled_csv), str(tmp_path / "a.csv"), *args])
    assert loud.exit_code == 0, loud.output
    assert "rows out" in loud.stderr  # the summary
    quiet = runner.invoke(
        app, ["label-csv", str(labelled_csv), str(tmp_path / "b.csv"), *args, flag]
    )
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_label_csv_quiet_still_prints_errors(labelled_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["label-csv", str(labelled_csv), str(out), "--text-column", "nope", "-q"]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "nope" in line
    assert not out.exists()


def test_evaluate_quiet_prints_the_metrics_and_no_notes(
    labelled_csv: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    args = ["evaluate", str(labelled_csv), "--label-column", "label", "--text-column"]
    args += ["description", "-m", str(tiny_model_dir), "--backend", "torch", "--json", "-"]
    loud = runner.invoke(app, [*args, "--report-dir", str(tmp_path / "a")])
    assert loud.exit_code == 0, loud.output
    assert f"report: {tmp_path / 'a' / 'report.md'}" in loud.stderr
    quiet = runner.invoke(app, [*args, "--report-dir", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    kept = [line for line in quiet.stderr.splitlines() if not line.startswith("warning")]
    assert kept == []  # warnings stay (they are about the result); nothing else
    (a,), (b,) = json.loads(loud.stdout)["models"], json.loads(quiet.stdout)["models"]
    for key in ("n", "accuracy", "macro_f1", "ece", "per_label"):  # the same answer
        assert a[key] == b[key], key
    assert (tmp_path / "b" / "report.md").is_file()


def test_evaluate_quiet_still_prints_errors(labelled_csv: Path) -> None:
    args = ["evaluate", str(labelled_csv), "--label-column", "nope", "--text-column"]
    result = runner.invoke(app, [*args, "description", "-m", "zero-shot", "-q"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "nope" in result.stderr


@pytest.fixture()
def tiny_train(monkeypatch: pytest.MonkeyPatch, tiny_trained: RoleClassifier) -> list:
    """`train` that records the progress callback it was given and returns the tiny model."""
    import role_classifier.training as training

    seen = []

    def fake(data, config, taxonomy, progress=None):  # noqa: ANN001, ANN202
        seen.append(progress)
        if progress is not None:
            progress("fitting the head")
        return tiny_trained

    monkeypatch.setattr(training, "train", fake)
    return seen


def test_train_quiet_saves_the_model_and_says_nothing(
    labelled_csv: Path, tmp_path: Path, tiny_train: list
) -> None:
    loud = runner.invoke(app, ["train", str(labelled_csv), "-o", str(tmp_path / "a")])
    assert loud.exit_code == 0, loud.output
    for needle in ("training on", "fitting the head", "saved to"):
        assert needle in loud.stderr
    quiet = runner.invoke(app, ["train", str(labelled_csv), "-o", str(tmp_path / "b"), "-q"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert tiny_train[0] is not None and tiny_train[1] is None  # None: no progress bars either
    assert (tmp_path / "b" / "config.json").is_file()


def test_train_quiet_still_prints_errors(labelled_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.txt"
    out.write_text("keep me")
    result = runner.invoke(app, ["train", str(labelled_csv), "-o", str(out), "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --output") and out.read_text() == "keep me"


def test_print_shares_quiet_prints_the_table_only(capsys: pytest.CaptureFixture[str]) -> None:
    pd = pytest.importorskip("pandas")

    from role_classifier.cli.render import print_shares

    df = pd.DataFrame(
        {
            "period": ["all", "all"],
            "role": ["ML Engineer", "Other"],
            "share": [0.25, 0.75],
            "low": [0.2, 0.7],
            "high": [0.3, 0.8],
            "n": [40, 40],
            "method": ["cc", "cc"],
            "note": ["", ""],
        }
    )
    df.attrs.update(method="cc", confidence=0.9, rows=41, used_rows=40, error_rows=1)
    print_shares(df)
    loud = capsys.readouterr()
    assert "41 rows read" in loud.err and "ML Engineer" in loud.out
    print_shares(df, quiet=True)
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == loud.out


@pytest.mark.torch  # transformers comes with torch, in the train extra
def test_quiet_libraries_turns_transformers_bars_off_and_back() -> None:
    import os

    from transformers.utils import logging as hf_logging

    from role_classifier.cli.common import quiet_libraries

    name = "HF_HUB_DISABLE_PROGRESS_BARS"
    before = (os.environ.get(name), hf_logging.is_progress_bar_enabled())
    with quiet_libraries(False):
        assert (os.environ.get(name), hf_logging.is_progress_bar_enabled()) == before
    with quiet_libraries(True):
        assert os.environ[name] == "1" and not hf_logging.is_progress_bar_enabled()
    assert (os.environ.get(name), hf_logging.is_progress_bar_enabled()) == before
