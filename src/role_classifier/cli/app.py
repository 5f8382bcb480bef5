"""The ``role-classifier`` Typer app, and the one rule for errors of every command.

Only typer, rich and the standard library are imported here; everything else (this package's
modules, the model, torch) loads inside the command that needs it, so ``role-classifier --help``
answers at once (``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__

__all__ = ["app"]


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


app = typer.Typer(
    cls=_Commands,
    help="Which AI/ML role is a job posting hiring for? 'classify' reads one ad, 'label-csv' "
    "labels every row of a CSV, 'evaluate' measures models on labelled data, 'train' fits a "
    "model on labelled postings, 'shares' estimates each role's share of a labelled feed with "
    "intervals, 'serve' answers over HTTP, 'info' shows the versions, default model and cache "
    "folder (for a bug report).",
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
