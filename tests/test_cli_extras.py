"""Optional packages (the finetune and report extras): a missing one is one line naming the extra."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier._extras import MissingExtraError, require_extra
from role_classifier.cli import app

runner = CliRunner()


@pytest.fixture()
def without(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Make optional modules look uninstalled to require_extra."""

    def hide(*modules: str) -> None:
        real = importlib.util.find_spec

        def find_spec(name: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None if name in modules else real(name, *args, **kwargs)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


@pytest.fixture()
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["title", "description", "label"])
        for label in ("MLOps Engineer", "Other"):
            w.writerows([f"{label} {i}", f"Job {i} as {label}.", label] for i in range(3))
    return path


def test_require_extra_names_the_extra(without) -> None:  # noqa: ANN001
    pytest.importorskip("matplotlib")  # the installed example below
    without("peft")
    with pytest.raises(MissingExtraError) as info:
        require_extra("peft")
    assert "pip install 'role-classifier[finetune]'" in str(info.value)
    assert "\n" not in str(info.value)
    require_extra("matplotlib")  # installed: no error


def test_evaluate_report_dir_without_matplotlib(
    without, labelled_csv: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    without("matplotlib")
    report = tmp_path / "report"
    args = ["evaluate", str(labelled_csv), "--label-column", "label", "--text-column"]
    result = runner.invoke(app, [*args, "description", "--report-dir", str(report)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: matplotlib is not installed (evaluate --report-dir needs it): "
        "pip install 'role-classifier[report]'"
    )
    assert not report.exists()


def test_shares_plot_without_matplotlib_names_shares(without, tmp_path: Path) -> None:  # noqa: ANN001
    without("matplotlib")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("score_Other,error\n1.0,\n", "utf-8")
    result = runner.invoke(app, ["shares", str(labelled), "--plot", str(tmp_path / "s.png")])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: matplotlib is not installed (shares --plot needs it): "
        "pip install 'role-classifier[report]'"
    )


def test_lora_training_without_peft(without, labelled_csv: Path, tmp_path: Path) -> None:  # noqa: ANN001
    without("peft")
    config = tmp_path / "lora.yaml"
    config.write_text("calibration: dev\nfinetune_epochs: 1\nfinetune_lora_rank: 8\n")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["train", str(labelled_csv), "-o", str(out), "--config", str(config)]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'role-classifier[finetune]'" in lines[0]
    assert lines[0].startswith("error: train: peft is not installed")  # names the command
    assert not out.exists()


def test_report_figures_leave_matplotlib_global_state_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    import importlib

    import matplotlib

    def no_switch(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise AssertionError("matplotlib.use() called")

    monkeypatch.setattr(matplotlib, "use", no_switch)
    before = matplotlib.rcParams._get_backend_or_none()
    from role_classifier.evaluation import plots as _report_plots

    plots = importlib.reload(_report_plots)  # its import-time code runs again, under the patch
    cov = {
        "target_precision": 0.9,
        "threshold": None,
        "points": [{"coverage": 1.0, "precision": 0.8, "accuracy": 0.8}],
    }
    plots.coverage_figure(tmp_path / "c.png", [("m", cov)])
    assert matplotlib.rcParams._get_backend_or_none() == before
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
