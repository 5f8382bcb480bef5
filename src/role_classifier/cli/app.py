"""The ``role-classifier`` Typer app, and the one rule for errors of every command.

Only typer, rich and the standard library are imported here; everything else (this package's
modules, the model, torch) loads inside the command that needs it, so ``role-classifier --help``
answers at once (``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__

__all__ = ["Command", "app"]

METAVARS = {
    "--baseline-filter": "COL=VALUE",
    "--baseline-train": "PATH",
    "--batch-size": "ROWS",
    "--batch-wait-ms": "MS",
    "--by": "COL",
    "--c": "C",
    "--concurrency": "N",
    "--confidence": "LEVEL",
    "--config": "PATH",
    "--corrections": "PATH",
    "--date-column": "COL",
    "--delimiter": "CHAR",
    "--evidence": "N",
    "--export": "PATH",
    "--file": "PATH",
    "--filter": "COL=VALUE",
    "--group-column": "COL",
    "--host": "ADDRESS",
    "--json": "PATH",
    "--label-column": "COL",
    "--limit": "ROWS",
    "--max-upload-mb": "MB",
    "--min-confidence": "P",
    "--min-support": "ROWS",
    "--model": "MODEL",
    "--n-boot": "N",
    "--out": "PATH",
    "--output": "DIR",
    "--plot": "PATH",
    "--port": "PORT",
    "--ray-address": "ADDRESS",
    "--report-dir": "DIR",
    "--seed": "N",
    "--target-precision": "P",
    "--taxonomy": "PATH",
    "--text-column": "COL",
    "--title": "TITLE",
    "--title-column": "COL",
    "--title-weight": "W",
    "--top-k": "N",
    "--weight": "W",
    "--workers": "N",
}
"""What ``--help`` shows after each option that takes a value: its choices, ``[onnx|torch]``, for an
option with choices; else this name (an option not listed: VALUE)."""


class Command(TyperCommand):
    """A command whose ``--help`` reads like click's: ``--filter COL=VALUE``, ``INPUT``, never
    typer's ``<list[str]>`` or ``{INPUT}``. Every command is declared with ``cls=Command``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "argument":
                param.metavar = param.metavar or param.name.upper()  # type: ignore[union-attr]
            elif not getattr(param, "is_flag", False) and param.metavar is None:
                choices = _choices(param)
                long = max(param.opts, key=len)
                param.metavar = f"[{'|'.join(choices)}]" if choices else METAVARS.get(long, "VALUE")

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_usage(param))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                dots = "..." if param.nargs != 1 else ""
                args.append((f"{param.metavar}{dots}", record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _choices(param: Any) -> list[str]:
    """The values an option accepts, where they are a fixed list (typer's or click's types)."""
    described = getattr(param, "type_descriptor", None)  # typer 0.2x
    if described is not None and described.is_choice:
        return [str(getattr(c, "value", c)) for c in described.choices or ()]
    return [str(c) for c in getattr(getattr(param, "type", None), "choices", None) or ()]


def _usage(param: Any) -> str:
    """``INPUT`` (required), ``[TEXT]`` (optional), ``DATA...`` (one or more)."""
    name = param.metavar + ("..." if param.nargs != 1 else "")
    return name if param.required else f"[{name}]"


class _Commands(TyperGroup):
    """The command group: whole first sentences in the command list, and the one error rule.

    Every :class:`~role_classifier.errors.UserError` a command raises (a bad option, file, column
    or model) is printed as one ``error:`` line and exits with code 2; so is a missing optional
    package, naming the extra that installs it. Anything else keeps its traceback.
    """

    def format_commands(self, ctx, formatter) -> None:  # noqa: ANN001 - click's types
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> Any:
        from .._extras import MissingExtraError
        from ..errors import UserError

        try:
            return super().invoke(ctx)
        except MissingExtraError as exc:  # named by the command that needs it
            from .common import fail

            raise fail(_named(str(exc), ctx.invoked_subcommand)) from exc
        except UserError as exc:
            from .common import fail

            raise fail(str(exc)) from exc
        except ModuleNotFoundError as exc:  # e.g. a model saved with a LoRA adapter, no peft
            from .._extras import EXTRAS, missing_extra_message
            from .common import fail

            if exc.name in EXTRAS:
                message = missing_extra_message(exc.name)
                raise fail(_named(message, ctx.invoked_subcommand)) from exc
            raise


def _named(message: str, command: str | None) -> str:
    """A missing-extra message that names the command it stopped (``label-csv: peft is ...``),
    unless it names one already.

    Example:
        >>> _named("peft is not installed (...): pip install x", "label-csv")
        'label-csv: peft is not installed (...): pip install x'
    """
    if not command or message.split(":")[0].count(command):
        return message
    return f"{command}: {message}"


class _App(typer.Typer):
    """The Typer app whose commands are :class:`Command` unless they say otherwise."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or Command, **kwargs)


app = _App(
    cls=_Commands,
    help="Which AI/ML role is a job posting hiring for? 'classify' reads one ad, 'label-csv' "
    "labels every row of a CSV, 'evaluate' measures models on labelled data, 'train' fits a "
    "model on labelled postings, 'shares' estimates each role's share of a labelled feed with "
    "intervals, 'review' lists the answers worth a person's check (or shows them one at a "
    "time in a page), 'adapt' refits a model on your corrections, 'serve' answers over HTTP, "
    "'info' shows the versions, default model and cache folder (for a bug report).",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, pwsh
    pretty_exceptions_enable=False,
    # click's plain help: flags read as flags (not '--json <bool>'), long help wraps instead of
    # being cut off with '...' in narrow terminals, and '[default: ...]' in help text stays text
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"role-classifier {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Which AI/ML role is a job posting hiring for?"""
