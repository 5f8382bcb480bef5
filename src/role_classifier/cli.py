"""The ``role-classifier`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .taxonomy import TaxonomyError, load_taxonomy
from .text import EmptyTextError, Posting, clean_text, split_title

app = typer.Typer(
    help="Which AI/ML role is a job posting hiring for? Classify one ad, label a CSV, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="A saved model directory, 'default' (the built-in fine-tuned head) or "
        "'zero-shot' (taxonomy definitions only, no training).",
    ),
]
TaxonomyOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--taxonomy",
        help="A taxonomy YAML (see configs/taxonomy.yaml). With a different set of roles, use "
        "--model zero-shot.",
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
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


def load_model(model: str, taxonomy: Path | None):  # noqa: ANN201 - RoleClassifier
    """Load a model for a command, turning user mistakes into exit code 2."""
    from .model import RoleClassifier

    try:
        tax = load_taxonomy(taxonomy) if taxonomy is not None else None
        return RoleClassifier.from_pretrained(model, taxonomy=tax)
    except (TaxonomyError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@app.command()
def classify(
    text: Annotated[
        Optional[str],
        typer.Argument(help="The ad text; '-' or nothing reads standard input."),
    ] = None,
    file: Annotated[
        Optional[Path], typer.Option("--file", "-f", help="Read the ad from this file.")
    ] = None,
    title: Annotated[
        Optional[str],
        typer.Option(
            "--title",
            help="The ad's title. Without it, a short first line of the ad is taken as the title.",
        ),
    ] = None,
    model: ModelOpt = "default",
    taxonomy: TaxonomyOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Runner-up roles to list.")] = 3,
    evidence: Annotated[
        int, typer.Option("--evidence", min=0, help="Sentences quoted as evidence.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Classify one pasted job ad.

    Examples:

        role-classifier classify --file data/samples/ad_ai_engineer.txt

        pbpaste | role-classifier classify --json

        role-classifier classify "Own our KServe model serving and MLflow registry." -m zero-shot
    """
    if file is not None and text not in (None, "-"):
        raise _fail("give the ad either as an argument or with --file, not both")
    if file is not None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror or exc}") from exc
        ad = decode_bytes(raw, str(file))
    elif text in (None, "-"):
        if sys.stdin.isatty():
            err.print("Paste the ad, then press Ctrl-D:")
        ad = decode_bytes(sys.stdin.buffer.read(), "standard input")
    else:
        ad = text
    ad = clean_text(ad)
    if not ad:
        raise _fail("the ad is empty (nothing left after removing HTML and whitespace)")
    if title is None:
        title, body = split_title(ad)
    else:
        body = ad
    clf = load_model(model, taxonomy)
    try:
        pred = clf.classify(Posting(description=body, title=title), top_k=top_k, evidence=evidence)
    except EmptyTextError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        out = pred.to_dict()
        out["title"] = title
        out["model"] = model
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    _print_prediction(pred, title)


def _print_prediction(pred, title: str | None) -> None:  # noqa: ANN001
    console = Console()
    if title:
        console.print(f"[dim]title:[/] {title}", highlight=False)
    console.print(
        f"[bold]{pred.label}[/]  confidence {pred.confidence:.2f}"
        + ("  [yellow](long ad: windows were sampled)[/]" if pred.truncated else ""),
        highlight=False,
    )
    if pred.runner_ups:
        table = Table("runner-up", "probability", box=None, pad_edge=False)
        for label, score in pred.runner_ups:
            table.add_row(label, f"{score:.2f}")
        console.print(table)
    if pred.evidence:
        console.print("[dim]evidence:[/]")
        for sentence in pred.evidence:
            console.print(f"  • {sentence}", highlight=False)


def main() -> None:
    """Entry point for ``python -m role_classifier``."""
    app()
