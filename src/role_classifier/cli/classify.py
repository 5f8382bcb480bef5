"""``role-classifier classify``: one pasted ad."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import common
from .app import app
from .common import (
    Backend,
    BackendOpt,
    ModelOpt,
    TaxonomyOpt,
    WorkersOpt,
    check_model_name,
    decode_bytes,
    err,
    fail,
)
from .render import print_prediction


@app.command()
def classify(
    text: Annotated[
        str | None,
        typer.Argument(help="The ad text; '-' or nothing reads standard input."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the ad from this file.")
    ] = None,
    title: Annotated[
        str | None,
        typer.Option(
            "--title",
            help="The ad's title. Without it, a short first line of the ad is taken as the title.",
        ),
    ] = None,
    model: ModelOpt = "default",
    taxonomy: TaxonomyOpt = None,
    backend: BackendOpt = Backend.onnx,
    workers: WorkersOpt = None,
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
    from ..text import language_warning, read_ad
    from ..threads import thread_limits

    if file is not None and text not in (None, "-"):
        raise fail("give the ad either as an argument or with --file, not both")
    model = check_model_name(model)  # before an ad is pasted
    if file is not None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}") from exc
        ad = decode_bytes(raw, str(file))
    elif text in (None, "-"):
        if sys.stdin.isatty():
            err.print("Paste the ad, then press Ctrl-D:")
        ad = decode_bytes(sys.stdin.buffer.read(), "standard input")
    else:
        ad = text
    title_given = title is not None
    posting, title = read_ad(ad, title)
    language = language_warning(posting.description)
    if language:  # still classified; the model reads English
        err.print(f"[yellow]warning:[/] {language}; the model reads English", highlight=False)
    clf = common.load_model(model, taxonomy, backend.value)
    with thread_limits(workers):
        pred = clf.classify(posting, top_k=top_k, evidence=evidence)
    if as_json:
        typer.echo(json.dumps(pred.as_answer(title, model), ensure_ascii=False))
        return
    print_prediction(pred, title, title_given)
