"""Enumerated options are real choices: listed in --help, any casing accepted, a wrong value is
exit code 2 naming the valid ones, and the library is handed the plain string."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest
from typer.testing import CliRunner

import role_classifier.cli.common as common
from role_classifier.cli import app
from role_classifier.cli.common import (
    Backend,
    Engine,
    OutputFormat,
    Period,
    ShareInterval,
    ShareMethod,
)
from role_classifier.errors import UserError

runner = CliRunner()

# (command and the arguments it needs, the option, its choices)
CHOICES = [
    (["classify", "an ad"], "--backend", Backend),
    (["label-csv", "in.csv", "out.csv", "--text-column", "t"], "--format", OutputFormat),
    (["label-csv", "in.csv", "out.csv", "--text-column", "t"], "--engine", Engine),
    (["shares", "labelled.csv"], "--method", ShareMethod),
    (["shares", "labelled.csv"], "--period", Period),
    (["shares", "labelled.csv"], "--interval", ShareInterval),
]
IDS = [f"{args[0]} {option}" for args, option, _ in CHOICES]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_choices_are_the_librarys() -> None:
    """The CLI spells the choices out (importing the library would slow --help): they must
    stay the library's own."""
    from role_classifier import io as fileio
    from role_classifier import shares
    from role_classifier.encoders.base import BACKENDS

    def values(choice: type[enum.Enum]) -> tuple[str, ...]:
        return tuple(member.value for member in choice)

    assert values(Backend) == BACKENDS
    assert values(OutputFormat) == fileio.FORMATS
    assert values(ShareMethod) == shares.METHODS
    assert values(Period) == tuple(shares.PERIODS)
    assert values(ShareInterval) == shares.INTERVALS
    assert values(Engine) == ("local", "ray")
    assert all(
        isinstance(m, str) for c in (Backend, Engine, OutputFormat, Period, ShareMethod) for m in c
    )


@pytest.mark.parametrize(("args", "option", "choice"), CHOICES, ids=IDS)
def test_help_lists_the_choices(args: list[str], option: str, choice: type[enum.Enum]) -> None:
    result = runner.invoke(app, [args[0], "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    listed = "|".join(member.value for member in choice)
    assert f"{option} [{listed}]" in flat(result.stdout)


@pytest.mark.parametrize(("args", "option", "choice"), CHOICES, ids=IDS)
def test_a_wrong_choice_is_exit_2_naming_the_valid_ones(
    args: list[str], option: str, choice: type[enum.Enum]
) -> None:
    result = runner.invoke(app, [*args, option, "nope"])
    assert result.exit_code == 2, result.output
    message = flat(result.stderr)
    assert f"Invalid value for '{option}'" in message and "'nope'" in message
    for member in choice:
        assert f"'{member.value}'" in message


class _Stop(UserError):
    """Raised by a stand-in once it has seen its arguments."""


def test_backend_in_any_casing_reaches_the_library_as_a_plain_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []

    def load_model(model: str, taxonomy: Path | None, backend: str = "onnx"):  # noqa: ANN202
        seen.append(backend)
        raise _Stop("stopped")

    monkeypatch.setattr(common, "load_model", load_model)
    for given in ("TORCH", "Onnx"):
        result = runner.invoke(app, ["classify", "an ad", "--backend", given])
        assert result.exit_code == 2 and "stopped" in result.stderr
    result = runner.invoke(app, ["classify", "an ad"])  # the default is unchanged
    assert seen == ["torch", "onnx", "onnx"]
    assert all(type(b) is str for b in seen)  # .value, not the enum member


def test_format_reaches_label_options_as_a_plain_string(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import role_classifier.labelling as labelling

    seen = []

    def check_paths(input_file, output_file, options, **kwargs):  # noqa: ANN001, ANN202
        seen.append(options.output_format)
        raise _Stop("stopped")

    monkeypatch.setattr(labelling, "check_paths", check_paths)
    args = ["label-csv", "in.csv", str(tmp_path / "out.data"), "--text-column", "t"]
    for given in ("JSONL", None):
        result = runner.invoke(app, args + (["--format", given] if given else []))
        assert result.exit_code == 2 and "stopped" in result.stderr
    assert seen == ["jsonl", None] and type(seen[0]) is str


def test_engine_ray_in_any_casing_is_the_ray_path() -> None:
    result = runner.invoke(app, ["label-csv", "-", "-", "--text-column", "t", "--engine", "Ray"])
    assert result.exit_code == 2
    assert "standard input/output ('-') need --engine local" in result.stderr


def test_method_and_period_reach_estimate_shares_as_plain_strings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import role_classifier.shares as shares

    seen: dict[str, object] = {}

    def estimate_shares(labelled, **kwargs):  # noqa: ANN001, ANN202
        seen.update(kwargs)
        raise _Stop("stopped")

    monkeypatch.setattr(shares, "role_shares", estimate_shares)
    args = ["shares", str(tmp_path / "l.csv"), "--date-column", "month"]
    result = runner.invoke(app, [*args, "--method", "PCC", "--period", "Quarter"])
    assert result.exit_code == 2 and "stopped" in result.stderr
    assert (seen["method"], seen["period"]) == ("pcc", "quarter")
    assert type(seen["method"]) is str and type(seen["period"]) is str
    result = runner.invoke(app, args)  # the defaults: the library's method, no period
    assert (seen["method"], seen["period"]) == (shares.DEFAULT_METHOD, None)
