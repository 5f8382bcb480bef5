"""What every command shares: option types, the error console, model loading, one error rule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole for grep


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
    str,
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
def interrupted(message: str) -> Iterator[None]:
    """Ctrl-C during a long command: one line saying how to go on, exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]{message}", highlight=False)
        raise typer.Exit(130) from None
