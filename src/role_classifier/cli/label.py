"""``role-classifier label-csv``: every row of a file, on this machine or on Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .app import app
from .common import (
    Backend,
    BackendOpt,
    DelimiterOpt,
    Engine,
    ModelOpt,
    OutputFormat,
    QuietOpt,
    TaxonomyOpt,
    WorkersOpt,
    check_model_name,
    err,
    fail,
    interrupted,
    quiet_libraries,
)
from .render import print_label_summary, rows_progress


@app.command("label-csv")
def label_csv_cli(
    input_file: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="A CSV (TSV) with a header row, .jsonl (.ndjson), .parquet or .xlsx, by "
            "extension; .csv.gz and .jsonl.gz are read compressed; '-' reads a CSV on stdin.",
        ),
    ],
    output_file: Annotated[
        str,
        typer.Argument(
            metavar="OUTPUT",
            help="A new file: .csv, .tsv, .jsonl (.ndjson), .parquet (.pq) or .xlsx, by "
            "extension, .gz after the first three to compress (other extensions need --format); "
            "'-' writes to stdout. Its folder must exist.",
        ),
    ],
    text_column: Annotated[
        str, typer.Option("--text-column", help="The column holding the posting text.")
    ],
    title_column: Annotated[
        str | None, typer.Option("--title-column", help="The column holding its title.")
    ] = None,
    model: ModelOpt = "default",
    taxonomy: TaxonomyOpt = None,
    backend: BackendOpt = Backend.onnx,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, help="Rows classified, written and checkpointed together."
        ),
    ] = 64,
    top_k: Annotated[
        int,
        typer.Option("--top-k", min=0, help="Runner-up roles per row: runner_up, runner_up_2..."),
    ] = 1,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run from OUTPUT.partial."),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an existing OUTPUT, or discard OUTPUT.partial left by an interrupted "
            "run; start over.",
        ),
    ] = False,
    workers: WorkersOpt = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            help="The output's format. [default: from OUTPUT's extension, csv for '-']",
            case_sensitive=False,
        ),
    ] = None,
    delimiter: DelimiterOpt = None,
    bom: Annotated[
        bool,
        typer.Option(
            "--bom",
            help="Start CSV output with a UTF-8 byte-order mark (utf-8-sig), so Excel opens "
            "its accents right.",
        ),
    ] = False,
    row_filter: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="COL=VALUE, repeatable: label only rows whose COL is VALUE (values of one "
            "column are alternatives); the others are left out of OUTPUT.",
        ),
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            "--min-confidence",
            min=0.0,
            max=1.0,
            help="Label Other every row whose best role is below this probability (its role "
            "goes to role_below_threshold). evaluate prints the value for a target precision.",
        ),
    ] = None,
    evidence: Annotated[
        int,
        typer.Option(
            "--evidence",
            min=0,
            help="Add an evidence column: the N sentences that most support each decision, "
            "as a JSON list (slower: one more pass per row).",
        ),
    ] = 0,
    all_scores: Annotated[
        bool,
        typer.Option(
            "--all-scores",
            help="Add one score_<role> column per role with its calibrated probability "
            "(what 'role-classifier shares' estimates role shares from).",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="local (this process, streaming, resumable) or ray (Ray Data: INPUT a file, "
            "folder or glob of .csv/.parquet/.jsonl, OUTPUT a folder of part files; needs "
            "pip install 'role-classifier[ray]').",
            case_sensitive=False,
        ),
    ] = Engine.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --engine ray: the cluster to join ('auto': the one running here); "
            "default: start a local Ray instance and shut it down after.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="With --engine ray: model actors (each loads the model once and uses --workers "
            "threads, default 1); default: the cluster's CPUs less one for reading and writing.",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Label every row of a CSV (or JSON lines, Parquet, Excel) file with its predicted role,
    streaming, resumable.

    Each row is written back untouched plus predicted_role, confidence, runner_up(s) and error.

    error is empty when fine, 'warning: ...' when classified but worth a look (e.g. not UTF-8).

    Bad rows (no text, more or fewer cells than the header) are kept, with an error and no
    prediction. The summary goes to stderr. A wrong OUTPUT, column or leftover partial run
    stops it before any row is classified (exit code 2).

    Examples:

        role-classifier label-csv jobs.csv out.csv --text-column description --title-column title

        role-classifier label-csv jobs.csv labelled.parquet --text-column description --top-k 3

        role-classifier label-csv jobs.jsonl.gz labelled.xlsx --text-column description

        role-classifier label-csv jobs.parquet labelled.csv --text-column description --bom

        role-classifier label-csv jobs.csv labelled.csv --text-column description --resume

        role-classifier label-csv jobs.csv labelled.csv --text-column description
        --min-confidence 0.62 --evidence 2

        cat jobs.csv | role-classifier label-csv - - --text-column description > labelled.csv

        role-classifier label-csv 's3://bucket/postings/*.parquet' s3://bucket/labelled/
        --text-column description --engine ray --ray-address auto
    """
    from ..data import parse_filters
    from ..labelling import LabelOptions, can_resume, check_paths, label_csv

    options = LabelOptions(
        text_column,
        title_column,
        top_k=top_k,
        min_confidence=min_confidence,
        evidence=evidence,
        all_scores=all_scores,
        batch_size=batch_size,
        output_format=output_format.value if output_format is not None else None,
        delimiter=delimiter,
        filters=parse_filters(row_filter),
        bom=bom,
    )
    if engine is Engine.ray:
        local_only = {
            "--resume": resume,
            "--overwrite": overwrite,
            "--filter": bool(row_filter),
            "--bom": bom,
        }
        given = [name for name, on in local_only.items() if on]
        _label_with_ray(
            input_file,
            output_file,
            options,
            given,
            model,
            taxonomy,
            backend.value,
            workers,
            ray_address,
            concurrency,
            quiet,
        )
        return
    if ray_address is not None or concurrency is not None:
        raise fail("--ray-address and --concurrency need --engine ray")
    fmt = check_paths(input_file, output_file, options, resume=resume, overwrite=overwrite)
    check_model_name(model)  # cheap; the model itself loads once the input is checked
    resumable = can_resume(input_file, output_file, fmt)
    hint = " (rerun the same command with --resume to continue)" if resumable else ""
    bar = rows_progress(err.is_terminal and not quiet)
    with bar as progress, interrupted(hint), quiet_libraries(quiet):
        summary = label_csv(
            input_file,
            output_file,
            options,
            model=lambda: common.load_model(
                model, taxonomy, backend.value
            ),  # after the input checks
            resume=resume,
            overwrite=overwrite,
            workers=workers,
            progress=progress,
        )
    if not quiet:
        print_label_summary(summary)


def _label_with_ray(
    input_file: str,
    output_file: str,
    options: object,
    local_only: list[str],
    model: str,
    taxonomy: Path | None,
    backend: str,
    workers: int | None,
    ray_address: str | None,
    concurrency: int | None,
    quiet: bool,
) -> None:
    """``label-csv --engine ray``: checks that need no cluster, then ``label_dataset``."""
    import importlib.util

    if "-" in (input_file, output_file):
        raise fail(
            "--engine ray reads files and writes a folder: standard input/output ('-') need "
            "--engine local"
        )
    if local_only:
        raise fail(
            f"{', '.join(local_only)}: not available with --engine ray (Ray Data cannot resume "
            "or filter rows here); use --engine local"
        )
    if importlib.util.find_spec("ray") is None:
        raise fail("--engine ray needs Ray: pip install 'role-classifier[ray]'")
    clf = common.load_model(model, taxonomy, backend)  # a bad model: exit 2 now
    from ..labelling.ray import label_dataset

    message = f": Ray Data cannot resume; delete {output_file} and rerun"
    with interrupted(message), quiet_libraries(quiet):
        summary = label_dataset(
            input_file,
            output_file,
            options,  # type: ignore[arg-type]
            model=check_model_name(model),
            taxonomy=clf.taxonomy if taxonomy is not None else None,
            backend=backend,
            workers=workers or 1,
            concurrency=concurrency,
            ray_address=ray_address,
            progress=err.is_terminal and not quiet,
        )
    if not quiet:
        print_label_summary(summary)
