"""``role-classifier evaluate``: models measured on labelled postings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from . import common
from .app import app
from .common import (
    Backend,
    BackendOpt,
    DelimiterOpt,
    QuietOpt,
    TaxonomyOpt,
    WorkersOpt,
    err,
    fail,
    quiet_libraries,
)
from .render import print_evaluation


@app.command("evaluate")
def evaluate_cli(
    data: Annotated[
        str,
        typer.Argument(
            help="A labelled CSV (TSV), .jsonl, .parquet or .xlsx, by extension (.gz after "
            "CSV or JSON lines); '-' reads a CSV on standard input."
        ),
    ],
    label_column: Annotated[
        str, typer.Option("--label-column", help="Column of the true role (any casing).")
    ],
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column of the posting's description.")
    ],
    title_column: Annotated[
        str | None,
        typer.Option("--title-column", help="Column of the posting's title (read with the text)."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Repeatable. A saved model directory, 'default', 'zero-shot', or "
            "'tfidf-baseline' (TF-IDF + logistic regression trained on --baseline-train). "
            "All models are run on the same rows. [default: default]",
        ),
    ] = None,
    taxonomy: TaxonomyOpt = None,
    backend: BackendOpt = Backend.onnx,
    workers: WorkersOpt = None,
    json_out: Annotated[
        str | None,
        typer.Option("--json", help="Write the metrics as JSON to this file ('-': stdout)."),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Write report.md, figures (PNG) and misclassified.csv here "
            "(one subfolder per model when there are several).",
        ),
    ] = None,
    baseline_train: Annotated[
        str | None,
        typer.Option("--baseline-train", help="CSV to train 'tfidf-baseline' on (same columns)."),
    ] = None,
    baseline_filter: Annotated[
        list[str] | None,
        typer.Option("--baseline-filter", help="COL=VALUE: use only these training rows."),
    ] = None,
    row_filter: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="COL=VALUE, repeatable: evaluate only rows whose COL is VALUE "
            "(values of one column are alternatives).",
        ),
    ] = None,
    target_precision: Annotated[
        float,
        typer.Option(
            "--target-precision",
            min=0.0,
            max=1.0,
            help="Report the confidence threshold below which abstaining to Other reaches "
            "this precision on the roles named.",
        ),
    ] = 0.9,
    min_support: Annotated[
        int,
        typer.Option(
            "--min-support", min=1, help="Roles with fewer rows are left out of macro-F1."
        ),
    ] = 1,
    group_column: Annotated[
        str | None,
        typer.Option(
            "--group-column",
            help="Also report the metrics per value of this column (e.g. source_repo: how "
            "each model does on every source).",
        ),
    ] = None,
    delimiter: DelimiterOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure models on a labelled CSV: accuracy, F1, calibration, coverage; side by side.

    Examples:

        role-classifier evaluate test.csv --label-column role --text-column description

        role-classifier evaluate postings.csv --filter split=test --label-column title_label
        --text-column description --title-column title -m zero-shot -m tfidf-baseline
        --baseline-train postings.csv --baseline-filter split=train --report-dir reports/eval

        role-classifier evaluate test.csv --label-column role --text-column text -m models/mine
        --json metrics.json --group-column source
    """
    from ..data import parse_filters
    from ..evaluation import BASELINE_NAME, evaluate
    from ..taxonomy import load_taxonomy
    from ..threads import thread_limits

    names = list(dict.fromkeys(model or ["default"]))
    if BASELINE_NAME in names and baseline_train is None:
        raise fail(f"--model {BASELINE_NAME} needs --baseline-train CSV to train on")
    if report_dir is not None:  # its figures need matplotlib: say so before any work
        from .._extras import require_extra

        require_extra("matplotlib", "evaluate --report-dir")
    filters = parse_filters(row_filter)  # a bad filter or taxonomy: the one error rule (app.py)
    train_filters = parse_filters(baseline_filter)
    tax = load_taxonomy(taxonomy) if taxonomy is not None else None
    with quiet_libraries(quiet):
        models = [
            name
            if name == BASELINE_NAME
            else (name, common.load_model(name, taxonomy, backend.value))
            for name in names
        ]
    try:
        with thread_limits(workers), quiet_libraries(quiet):
            result = evaluate(
                data,
                label_column,
                text_column,
                title_column,
                models=models,
                taxonomy=tax,
                filters=filters,
                baseline_train=baseline_train,
                baseline_filters=train_filters,
                target_precision=target_precision,
                min_support=min_support,
                group_column=group_column,
                report_dir=report_dir,
                progress=err.is_terminal and not quiet,
                delimiter=delimiter,
            )
    except OSError as exc:
        raise fail(str(exc)) from exc
    _write_json(result, json_out)
    if json_out != "-":
        print_evaluation(result["models"])
    _print_advice(result, taxonomy, backend.value, quiet)
    if report_dir is not None and not quiet:
        err.print(f"report: {report_dir / 'report.md'}", highlight=False)


def _write_json(result: dict[str, Any], json_out: str | None) -> None:
    """Write the metrics as JSON to a file, or to stdout for ``-``; nothing for None."""
    if json_out is None:
        return
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if json_out == "-":
        typer.echo(text, nl=False)
        return
    try:
        Path(json_out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {json_out}: {exc.strerror or exc}") from exc


def _print_advice(result: dict[str, Any], taxonomy: str | None, backend: str, quiet: bool) -> None:
    """Warnings always (on stderr), hints on what to try next unless --quiet."""
    from ..evaluation import advice

    told = advice(result, taxonomy, backend)
    for model_name, warning in told["warnings"]:
        who = f" ({model_name})" if model_name else ""
        err.print(f"[yellow]warning{who}:[/] {warning}", highlight=False)
    if not quiet:
        for hint in told["hints"]:
            err.print(hint, highlight=False)
