"""The command line's help, version and start-up: what a user sees before any work."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from role_classifier import __version__
from role_classifier.cli import app

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]


def flat(text: str) -> str:
    """Help text on one line, as click may wrap it anywhere, even after a hyphen ("zero-\nshot")."""
    return " ".join(text.split()).replace("- ", "-")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"role-classifier {__version__}"


def test_summary_names_every_command() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    summary = flat(result.stdout.split("Options:")[0])
    for name in {"classify", "label-csv", "evaluate", "train", "serve", *COMMANDS}:
        assert f"'{name}'" in summary, name
    listed = result.stdout.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_and_flags_are_flags(command: str) -> None:
    cmd = GROUP.commands[command]  # type: ignore[attr-defined]
    flags = []
    for param in cmd.params:
        name = param.opts[0]
        assert getattr(param, "help", None), f"{command} {name} has no help text"
        if param.param_type_name == "option" and param.is_flag:
            assert not param.secondary_opts, f"{command} {name} shows a --no- form"
            flags.append(name)
    assert command not in ("classify", "train") or flags  # --json, --overwrite


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_fits_80_columns_and_is_never_cut_off(command: str) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text  # rich's cut-off mark
    assert "<bool>" not in text  # flags read as flags
    assert max(len(line) for line in text.splitlines()) <= 80
    cmd = GROUP.commands.get(command, GROUP)  # type: ignore[attr-defined]
    assert cmd.params
    for param in cmd.params:
        if param.help:  # options and arguments
            assert flat(param.help) in flat(text), f"{param.opts[0]}'s help is cut"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_type_names_or_braces_of_typer(command: str) -> None:
    """``--filter COL=VALUE``, ``--backend [onnx|torch]``, ``INPUT``: never ``<list[str]>``,
    ``<str>``, ``<int range>`` or ``{INPUT}``."""
    args = [command, "--help"] if command else ["--help"]
    text = runner.invoke(app, args, env={"COLUMNS": "100"}).stdout
    option_lines = [line for line in text.splitlines() if line.startswith("  -")]
    usage = text.splitlines()[0]
    leaks = re.findall(
        r"(?<!\w)<[a-z][^<>]*>|\{[A-Za-z_]+\}", usage + "\n" + "\n".join(option_lines)
    )
    assert not leaks, f"{command or 'role-classifier'} --help shows {leaks}"
    cmd = GROUP.commands.get(command, GROUP)  # type: ignore[attr-defined]
    for param in cmd.params:
        if param.param_type_name == "argument":
            assert param.metavar and param.metavar.isupper(), param.name
            assert param.metavar in usage
        elif not param.is_flag and not param.hidden:
            assert param.metavar and "<" not in param.metavar, param.opts
            assert param.metavar != "VALUE", f"{param.opts}: add it to cli.app.METAVARS"


@pytest.mark.parametrize(
    ("command", "option", "metavar"),
    [
        ("label-csv", "--filter", "COL=VALUE"),
        ("evaluate", "--model", "MODEL"),
        ("train", "--label-column", "COL"),
        ("classify", "--backend", "[onnx|torch]"),
        ("shares", "--by", "COL"),
        ("train", "--c", "C"),
    ],
)
def test_options_show_what_they_take(command: str, option: str, metavar: str) -> None:
    text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"}).stdout
    assert f"{option} {metavar} " in text


def test_train_c_says_it_is_the_inverse_l2_strength() -> None:
    [c] = [p for p in GROUP.commands["train"].params if p.name == "c"]  # type: ignore[attr-defined]
    assert "inverse L2 strength" in c.help
    [seed] = [p for p in GROUP.commands["train"].params if p.name == "seed"]  # type: ignore[attr-defined]
    assert "seed" in seed.help.lower() and seed.help != "Overrides the config."


def test_importing_the_package_changes_nothing_and_loads_no_torch() -> None:
    code = (
        "import os, sys, json; before = dict(os.environ); "
        "import role_classifier, role_classifier.cli, role_classifier.text, "
        "role_classifier.taxonomy; "
        "print(json.dumps({'heavy': sorted(m for m in ('torch', 'transformers', 'matplotlib', "
        "'datasets', 'sklearn', 'onnxruntime') if m in sys.modules), "
        "'environ': dict(os.environ) == before}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.pop("TOKENIZERS_PARALLELISM", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == '{"heavy": [], "environ": true}', out.stdout + out.stderr


def test_public_names_load_on_first_use() -> None:
    import role_classifier

    assert role_classifier.Posting("x").description == "x"
    assert "RoleClassifier" in dir(role_classifier)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        role_classifier.Nope  # noqa: B018


def test_shell_completion_is_offered_and_completes_commands_and_choices() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout

    def complete(line: str) -> list[str]:
        env = {
            "_ROLE_CLASSIFIER_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split()) - (0 if line.endswith(" ") else 1)),
        }
        done = runner.invoke(app, [], prog_name="role-classifier", env=env)
        assert done.exit_code == 0, done.output
        return done.stdout.split()

    assert complete("role-classifier la") == ["label-csv"]
    assert complete("role-classifier label-csv in.csv out.csv --format ") == [
        "csv",
        "tsv",
        "jsonl",
        "parquet",
        "xlsx",
    ]
    assert complete("role-classifier serve --backend ") == ["onnx", "torch"]
