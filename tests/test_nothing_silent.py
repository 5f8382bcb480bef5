"""Nothing silently wrong: a filter that matches nothing, a finished OUTPUT, a cut CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.labelling import NoMatchError, OutputExistsError, label_csv
from role_classifier.modeling.model import RoleClassifier

runner = CliRunner()
ADS = [
    ("2024-03", "We build rag pipelines with a vector database and llm apis."),
    ("2024-04", "Train machine learning models in pytorch and deploy them."),
    ("2024-03", "Nurse wanted for a night shift at our clinic."),
]


def _jobs(tmp_path: Path) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["month", "text"], *ADS])
    path = tmp_path / "jobs.csv"
    path.write_text(buf.getvalue(), "utf-8")
    return path


def _one_line_error(result, *needles: str) -> str:  # noqa: ANN001 - click's Result
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_a_filter_that_matches_nothing_is_an_error(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path), tmp_path / "out.csv"
    with pytest.raises(NoMatchError, match=r"--filter month=2024-3 matches no row of the 3"):
        label_csv(src, out, text_column="text", filters={"month": ["2024-3"]}, model=tiny_trained)
    assert list(tmp_path.iterdir()) == [src]  # no output, no partial run left
    args = ["label-csv", str(src), str(out), "--text-column", "text", "--filter", "month=2024-3"]
    result = runner.invoke(app, [*args, "--model", str(tiny_model_dir)])
    _one_line_error(result, "month=2024-3", "'month' has '2024-03', '2024-04'")
    summary = label_csv(
        src, out, text_column="text", filters={"month": ["2024-03"]}, model=tiny_trained
    )
    assert summary.rows_written == 2


def test_a_finished_output_is_replaced_only_with_overwrite(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path), tmp_path / "out.csv"
    label_csv(src, out, text_column="text", model=tiny_trained)
    out.write_text("kept\n", "utf-8")
    with pytest.raises(OutputExistsError, match="rerun with --overwrite"):
        label_csv(src, out, text_column="text", model=tiny_trained)
    args = ["label-csv", str(src), str(out), "--text-column", "text"]
    result = runner.invoke(app, [*args, "--model", str(tiny_model_dir)])
    _one_line_error(result, f"OUTPUT {out} exists", "--overwrite")
    assert out.read_text("utf-8") == "kept\n"
    result = runner.invoke(app, [*args, "--resume", "--model", str(tiny_model_dir)])
    _one_line_error(result, "nothing to resume")  # --resume unchanged
    result = runner.invoke(app, [*args, "--overwrite", "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith("month,text,predicted_role")
