from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.modeling.model import RoleClassifier

AD = "Senior MLOps Engineer\nYou will run model serving on kubernetes. You will build ml pipelines for production."
runner = CliRunner()


@pytest.fixture(scope="module")
def zero_shot_dir(tmp_path_factory: pytest.TempPathFactory, tiny_zero_shot: RoleClassifier) -> Path:
    path = tmp_path_factory.mktemp("tiny-zero-shot")
    tiny_zero_shot.save_pretrained(path)
    return path


def _json(args: list[str], **kwargs: object) -> dict:
    result = runner.invoke(app, ["classify", "--json", *args], **kwargs)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("source", ["argument", "file", "stdin", "stdin-dash"])
def test_classify_reads_argument_file_and_stdin(
    source: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    args, kwargs = ["--model", str(tiny_model_dir)], {}
    if source == "argument":
        args.append(AD)
    elif source == "file":
        (tmp_path / "ad.txt").write_text(AD)
        args += ["--file", str(tmp_path / "ad.txt")]
    else:
        kwargs["input"] = AD
        if source == "stdin-dash":
            args.append("-")
    out = _json(args, **kwargs)
    assert out["title"] == "Senior MLOps Engineer"
    assert out["label"] in out["scores"] and len(out["scores"]) == 8
    assert abs(sum(out["scores"].values()) - 1) < 1e-3
    assert out["confidence"] == out["scores"][out["label"]]
    assert 1 <= len(out["evidence"]) <= 3


def test_all_sources_agree(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "ad.txt").write_text(AD)
    a = _json(["--model", str(tiny_model_dir), AD])
    b = _json(["--model", str(tiny_model_dir), "--file", str(tmp_path / "ad.txt")])
    c = _json(["--model", str(tiny_model_dir)], input=AD)
    assert a == b == c


def test_human_output_shows_label_runner_ups_and_evidence(tiny_model_dir: Path) -> None:
    result = runner.invoke(app, ["classify", "--model", str(tiny_model_dir), "--top-k", "2", AD])
    assert result.exit_code == 0, result.output
    assert (
        "confidence" in result.stdout
        and "runner-up" in result.stdout
        and "evidence" in result.stdout
    )


@pytest.mark.parametrize("text", ["", "   \n\t ", "<div><br></div>"])
def test_empty_ad_exits_2(text: str, tiny_model_dir: Path) -> None:
    result = runner.invoke(app, ["classify", "--model", str(tiny_model_dir)], input=text)
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_non_utf8_stdin_warns_and_classifies(tiny_model_dir: Path) -> None:
    raw = "Ingénieur MLOps\nDéployer des modèles en production.".encode("latin-1")
    result = runner.invoke(app, ["classify", "--json", "--model", str(tiny_model_dir)], input=raw)
    assert result.exit_code == 0, result.output
    assert "not valid UTF-8" in result.stderr
    assert json.loads(result.stdout)["label"]


def test_missing_file_and_bad_model_exit_2(tiny_model_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["classify", "--model", str(tiny_model_dir), "--file", str(tmp_path / "nope.txt")]
    )
    assert result.exit_code == 2 and "cannot read" in result.stderr
    result = runner.invoke(app, ["classify", "--model", str(tmp_path), AD])
    assert result.exit_code == 2 and "not a saved role-classifier model" in result.stderr


def test_taxonomy_typo_names_line_and_key(tiny_model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("roles:\n  - name: A\n    definiton: x\n")
    result = runner.invoke(
        app, ["classify", "--model", str(tiny_model_dir), "--taxonomy", str(bad), AD]
    )
    assert result.exit_code == 2
    assert f"{bad}:3: unknown key 'definiton'" in result.stderr


def test_custom_taxonomy_classifies_zero_shot_at_once(zero_shot_dir: Path, tmp_path: Path) -> None:
    tax = tmp_path / "t.yaml"
    tax.write_text(
        "roles:\n"
        "  - {name: Kitchen, definition: cooks food, titles: [Chef]}\n"
        "  - {name: Ward, definition: cares for patients, titles: [Nurse]}\n"
        "  - {name: Other, definition: anything else}\n"
    )
    out = _json(["--model", str(zero_shot_dir), "--taxonomy", str(tax), AD])
    assert set(out["scores"]) == {"Kitchen", "Ward", "Other"}


def test_trained_model_refuses_a_different_taxonomy(tiny_model_dir: Path, tmp_path: Path) -> None:
    tax = tmp_path / "t.yaml"
    tax.write_text("roles:\n  - {name: A, definition: a}\n  - {name: Other, definition: b}\n")
    result = runner.invoke(
        app, ["classify", "--model", str(tiny_model_dir), "--taxonomy", str(tax), AD]
    )
    assert result.exit_code == 2 and "zero-shot" in result.stderr


@pytest.mark.parametrize(
    ("args", "ad", "shown"),
    [
        ([], AD, "title (guessed from the first line): Senior MLOps Engineer"),
        (["--title", "Payroll Specialist"], AD, "title (given by --title): Payroll Specialist"),
        ([], "About Acme\nAcme builds frontier AI. We run payroll.", "title: none"),
    ],
)
def test_human_output_says_where_the_title_came_from(
    tiny_model_dir: Path, args: list[str], ad: str, shown: str
) -> None:
    result = runner.invoke(app, ["classify", "--model", str(tiny_model_dir), *args, ad])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(shown)


def test_a_section_heading_is_not_read_as_the_title(tiny_model_dir: Path) -> None:
    out = _json(["--model", str(tiny_model_dir), "About Acme\nAcme builds ai. We run payroll."])
    assert out["title"] is None
