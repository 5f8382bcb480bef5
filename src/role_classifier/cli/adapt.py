"""``role-classifier adapt``: a model for your feed from your corrections."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .app import app
from .common import ModelOpt, QuietOpt, check_model_name, err


@app.command("adapt")
def adapt_cli(
    corrections: Annotated[
        Path,
        typer.Argument(
            help="Corrections: any input format with a text column, an optional title and id, "
            "and the right role (correct_role, as `review --export` writes it, or label)."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to save the adapted model in.")
    ],
    model: ModelOpt = "default",
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column of the posting's description.")
    ] = "description",
    title_column: Annotated[
        str | None,
        typer.Option("--title-column", help="Column of the title. [default: title, if present]"),
    ] = None,
    label_column: Annotated[
        str | None,
        typer.Option(
            "--label-column", help="Column of the right role. [default: correct_role, else label]"
        ),
    ] = None,
    weight: Annotated[
        float,
        typer.Option(
            "--weight", min=0.001, help="Each correction counts as this many training rows."
        ),
    ] = 1.0,
    title_weight: Annotated[
        float | None,
        typer.Option(
            "--title-weight",
            min=0.0,
            help="Weight of the title embedding in the refitted head. [default: the base's]",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output folder.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Adapt a model to your feed: refit its head on your corrections, without torch.

    The corrected postings are encoded once (as label-csv encodes them), then the head is refitted
    in seconds: on the model's own training postings plus the corrections where its folder has
    them (every trained model, the default too), else kept near the base's head; the
    temperatures and the review band are refitted on the corrections. Use the folder with
    --model in label-csv, classify, serve and shares. Corrections for one id given twice: the
    last one counts. Roles the base model has never seen are refused (that is the taxonomy's job).

    Examples:

        role-classifier review labelled.csv --export queue.csv   (fill correct_role)

        role-classifier adapt queue.csv --output models/my-feed

        role-classifier label-csv feed.csv relabelled.csv --text-column description
        --title-column title --model models/my-feed --all-scores
    """
    from ..adapting import adapt_file

    name = check_model_name(model)
    say = None if quiet else (lambda msg: err.print(msg, highlight=False))
    summary = adapt_file(
        corrections,
        output,
        name,
        text_column=text_column,
        title_column=title_column,
        label_column=label_column,
        overwrite=overwrite,
        command=" ".join(["role-classifier", *sys.argv[1:]]),
        progress=say,
        weight=weight,
        title_embedding_scale=title_weight,
    )
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    per_label = ", ".join(f"{k} {v}" for k, v in summary["per_label"].items())
    typer.echo(f"adapted {summary['base']} to {summary['corrections']} corrections ({per_label})")
    if summary["replaced"]:
        typer.echo(
            f"{summary['replaced']} row(s) repeated an id (the last one counts; "
            f"{summary['disagreeing']} gave a different role)"
        )
    if summary["unanswered"] or summary["withdrawn"]:
        typer.echo(
            f"skipped {summary['unanswered']} row(s) without a role, "
            f"{summary['withdrawn']} answer(s) withdrawn"
        )
    typer.echo(f"saved {summary['output']} in {summary['seconds']}s")
