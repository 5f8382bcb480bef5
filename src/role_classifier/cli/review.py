"""``role-classifier review``: the answers worth a person's check, as a spreadsheet or a page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app
from .common import ModelOpt, QuietOpt, check_model_name, err, fail


@app.command("review")
def review_cli(
    labelled: Annotated[
        Path,
        typer.Argument(help="A label-csv output written with --all-scores (any input format)."),
    ],
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write the queue as CSV with an empty correct_role column (for Excel), "
            "instead of serving the page.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Rows to export. [default: the review band]"),
    ] = None,
    corrections: Annotated[
        Path | None,
        typer.Option(
            "--corrections",
            help="Where answers are saved (the page) and which rows are already answered. "
            "[default: LABELLED.corrections.csv]",
        ),
    ] = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column of the posting's description.")
    ] = "description",
    title_column: Annotated[
        str, typer.Option("--title-column", help="Column of the title (if the file has it).")
    ] = "title",
    model: ModelOpt = "default",
    host: Annotated[str, typer.Option("--host", help="Address of the page.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8001,
    quiet: QuietOpt = False,
) -> None:
    """List the labelled rows worth a person's check, most useful first, or review them in a page.

    Order: the review band first; least sure first (the margin between the two best roles);
    spread over roles, companies and months. The page shows one posting at a time with the
    sentences behind the answer marked: keys 1-8 give the role, s skips, u undoes. Every answer
    is saved at once in the corrections file, a valid input of 'adapt'. --model is the model
    that marks those sentences (use the one that labelled the file).

    Examples:

        role-classifier label-csv feed.csv labelled.csv --text-column description
        --title-column title --all-scores

        role-classifier review labelled.csv --export queue.csv --limit 100

        role-classifier review labelled.csv --port 8001

        role-classifier adapt labelled.csv.corrections.csv --output models/my-feed
    """
    from ..corrections import corrections_path
    from ..review import build_queue, write_queue

    name = check_model_name(model)
    answers = corrections or corrections_path(labelled)
    queue = build_queue(labelled, text_column, title_column, answers)
    say = (lambda _msg: None) if quiet else (lambda msg: err.print(msg, highlight=False))
    if queue.unknown_ids:
        shown = ", ".join(queue.unknown_ids[:5]) + (", ..." if len(queue.unknown_ids) > 5 else "")
        err.print(
            f"[yellow]warning:[/] {len(queue.unknown_ids)} correction(s) in {answers} are for "
            f"ids not in {labelled}: {shown}",
            highlight=False,
        )
    band = sum(r["review"] != "auto" for r in queue.rows)
    say(
        f"{len(queue.rows)} rows to review ({band} in the review band); "
        f"{len(queue.answered)} already answered in {answers}"
        + (f"; {queue.skipped_errors} rows with an error left out" if queue.skipped_errors else "")
    )
    if export is not None:
        written = write_queue(queue, export, limit)
        typer.echo(
            f"wrote {written} rows to {export}; fill correct_role, then: "
            f"role-classifier adapt {export} --output DIR"
        )
        return
    _serve(queue, name, answers, host, port, say)


def _serve(queue, model: str, answers: Path, host: str, port: int, say) -> None:  # noqa: ANN001
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise fail(
            f"{', '.join(missing)} not installed (the page needs them): "
            "pip install 'role-classifier[serve]'"
        )
    from ..modeling.loading import load_classifier
    from ..serve.review import run_review

    clf = load_classifier(model)
    say(f"answers are saved in {answers} as you make them")
    run_review(queue, clf, answers, host=host, port=port)
