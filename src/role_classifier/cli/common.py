"""What every command shares: option types and their choices, the error console, model loading,
one error rule."""

from __future__ import annotations

import contextlib
import copy
import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole for grep


# The choices of enumerated options, listed in --help and checked by click (exit code 2 and the
# valid values on a wrong one). The library takes plain strings: commands pass ``.value``.
# tests/test_cli_choices.py checks each against the library's own tuple, which is not imported
# here so that --help stays fast.
class Backend(str, enum.Enum):
    """``--backend``: :data:`role_classifier.encoders.base.BACKENDS`."""

    onnx = "onnx"
    torch = "torch"


class Engine(str, enum.Enum):
    """``label-csv --engine``: this process, or Ray Data."""

    local = "local"
    ray = "ray"


class OutputFormat(str, enum.Enum):
    """``label-csv --format``: :data:`role_classifier.io.formats.FORMATS`."""

    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    parquet = "parquet"
    xlsx = "xlsx"


class ShareMethod(str, enum.Enum):
    """``shares --method``: :data:`role_classifier.shares.METHODS`."""

    cc = "cc"
    pcc = "pcc"
    acc = "acc"
    pacc = "pacc"
    em = "em"


class ShareInterval(str, enum.Enum):
    """``shares --interval``: :data:`role_classifier.shares.INTERVALS`."""

    shift = "shift"
    sampling = "sampling"


class Period(str, enum.Enum):
    """``shares --period``: the keys of :data:`role_classifier.shares.PERIODS`."""

    month = "month"
    quarter = "quarter"
    year = "year"


ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="A saved model directory, 'default' (the built-in trained head) or "
        "'zero-shot' (taxonomy definitions only, no training).",
    ),
]
BackendOpt = Annotated[
    Backend,
    typer.Option(
        "--backend",
        help="onnx (int8 ONNX Runtime: fast, no torch import) or torch (fp32, the training path).",
        case_sensitive=False,
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="CPU threads for the model (default: one per core)."),
]
TaxonomyOpt = Annotated[
    Path | None,
    typer.Option(
        "--taxonomy",
        help="A taxonomy YAML (see configs/taxonomy.yaml). With a different set of roles, use "
        "--model zero-shot.",
    ),
]


DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="The CSV's delimiter: ',', ';', '|' or 'tab'. [default: sniffed from the header]",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress bar, summary or notes on stderr; warnings and errors still show.",
    ),
]

ENV_PREFIX = "ROLE_CLASSIFIER_"


def from_env(option: Any, name: str) -> Any:
    """``option`` (one of the ``...Opt`` types here) also read from ``$ROLE_CLASSIFIER_<name>``,
    the variable named in --help. The command line wins over the environment.

    Example:
        >>> ServeModelOpt = from_env(ModelOpt, "MODEL")  # doctest: +SKIP
    """
    kind, info = get_args(option)
    info = copy.copy(info)  # the shared option keeps no variable
    info.envvar, info.show_envvar = ENV_PREFIX + name, True
    return Annotated[kind, info]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one ``error:`` line on stderr; returns the Exit to raise (code 2: a user mistake)."""
    from rich.markup import escape  # a message's own brackets ("role-classifier[report]") stay

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def decode_bytes(raw: bytes, source: str) -> str:
    """Decode UTF-8 (BOM allowed); on invalid bytes, replace them and warn on stderr."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        err.print(
            f"[yellow]warning:[/] {source} is not valid UTF-8 (byte {exc.start}); "
            "undecodable bytes were replaced with U+FFFD",
            highlight=False,
        )
        return raw.decode("utf-8-sig", errors="replace")


def check_model_name(model: str) -> str:
    """``--model`` in canonical form ('default', 'zero-shot', a folder); an error listing the
    valid choices when it is none of them. Cheap: nothing is loaded."""
    from ..modeling.names import resolve_model_name

    return resolve_model_name(model)


def load_model(model: str, taxonomy: Path | None, backend: str = "onnx"):  # noqa: ANN201
    """The command's model (:func:`~role_classifier.modeling.loading.load_classifier`)."""
    from ..modeling.loading import load_classifier

    return load_classifier(model, taxonomy, backend)


@contextlib.contextmanager
def quiet_libraries(quiet: bool) -> Iterator[None]:
    """``--quiet`` for the libraries too: transformers' and huggingface_hub's own progress bars
    (e.g. "Writing model shards" when a fine-tuned backbone is saved) are off inside, and back as
    they were after. Imports nothing: a transformers loaded inside reads the variable."""
    if not quiet:
        yield
        return
    import os
    import sys

    name = "HF_HUB_DISABLE_PROGRESS_BARS"
    saved = os.environ.get(name)
    hf_logging = sys.modules.get("transformers.utils.logging")
    was_on = hf_logging is not None and hf_logging.is_progress_bar_enabled()
    os.environ[name] = "1"
    if hf_logging is not None:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved
        if was_on:
            hf_logging.enable_progress_bar()  # type: ignore[union-attr]


@contextlib.contextmanager
def interrupted(message: str) -> Iterator[None]:
    """Ctrl-C during a long command: one line saying how to go on, exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]{message}", highlight=False)
        raise typer.Exit(130) from None
