"""``role-classifier shares``: each role's share of a labelled feed, per group and period."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .app import app
from .common import Period, QuietOpt, ShareInterval, ShareMethod, err, fail
from .render import print_shares


@app.command("shares")
def shares_cli(
    labelled: Annotated[
        Path,
        typer.Argument(
            help="A label-csv output written with --all-scores (.csv, .tsv, .jsonl, .parquet)."
        ),
    ],
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Repeatable: estimate per value of this column (e.g. source)."),
    ] = None,
    date_column: Annotated[
        str | None,
        typer.Option("--date-column", help="A column of dates (2024-03, 2024-03-15, ISO)."),
    ] = None,
    period: Annotated[
        Period | None,
        typer.Option(
            "--period",
            help="month, quarter or year. [default: month with a date]",
            case_sensitive=False,
        ),
    ] = None,
    method: Annotated[
        ShareMethod | None,
        typer.Option(
            "--method",
            help="cc (classify and count), pcc, acc, pacc or em. [default: the one "
            "benchmarks/bench_shares.py measured best]",
            case_sensitive=False,
        ),
    ] = None,
    interval: Annotated[
        ShareInterval | None,
        typer.Option(
            "--interval",
            help="shift: the interval also spans cc's and em's readings of how the feed "
            "differs from the training data (measured to hold its coverage); sampling: the "
            "method's bootstrap alone. [default: shift where the model has held-out data]",
            case_sensitive=False,
        ),
    ] = None,
    dayfirst: Annotated[
        bool,
        typer.Option(
            "--dayfirst",
            help="Read numeric dates day-first (03/04/2024 is 3 April). [default: day-first "
            "only when some date can only be day-first (15/03/2024) and none only "
            "month-first; a warning says so when dates read both ways]",
        ),
    ] = False,
    monthfirst: Annotated[
        bool,
        typer.Option("--monthfirst", help="Read numeric dates month-first (4 March)."),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="The model that labelled the file, for its held-out data: a saved model "
            "directory, 'default' or 'zero-shot'. [default: the one label-csv recorded in "
            "LABELLED.meta.json, else 'default']",
            show_default=False,
        ),
    ] = None,
    title_column: Annotated[
        str | None,
        typer.Option(
            "--title-column",
            help="The column label-csv read titles from (the adjusted methods then use the "
            "model's held-out rows scored with titles). [default: the one label-csv recorded "
            "in LABELLED.meta.json]",
        ),
    ] = None,
    confidence: Annotated[
        float,
        typer.Option("--confidence", min=0.5, max=0.999, help="Coverage of the intervals."),
    ] = 0.9,
    n_boot: Annotated[
        int, typer.Option("--n-boot", min=0, help="Bootstrap replicates (0: no intervals).")
    ] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the table as CSV (long: one row a role).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the shares over the periods as a PNG.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Estimate each role's share of a labelled feed, per group and period, with intervals.

    Reads the score_<role> columns of `label-csv --all-scores` (never the text), so it takes
    seconds for 100,000 rows. Rows with an error are counted and not used; rows without a date
    go to the period 'undated'; groups of fewer than 30 postings are marked.

    Examples:

        role-classifier label-csv feed.csv labelled.parquet --text-column description
        --title-column title --all-scores

        role-classifier shares labelled.parquet --date-column month --plot shares.png

        role-classifier shares labelled.parquet --by source --json
    """
    from ..modeling.names import resolve_model_name
    from ..shares import DEFAULT_METHOD, plot_shares, role_shares, shares_table

    held = resolve_model_name(model) if model is not None else None
    if plot is not None:
        from .._extras import require_extra

        require_extra("matplotlib", "shares --plot")
    table = role_shares(
        labelled,
        by=by,
        date_column=date_column,
        period=period.value if period is not None else None,
        title_column=title_column,
        method=method.value if method is not None else DEFAULT_METHOD,
        held_out=held,
        confidence=confidence,
        n_boot=n_boot,
        interval=interval.value if interval is not None else None,
        dayfirst=_date_order(dayfirst, monthfirst),
    )
    if out is not None:
        table.to_csv(out)
    if plot is not None:
        plot_shares(table, plot)
    if as_json:
        typer.echo(json.dumps(shares_table(table), ensure_ascii=False, indent=2))
    else:
        print_shares(table, quiet=quiet)
    for path in (out, plot):
        if path is not None and not quiet:
            err.print(f"wrote {path}", highlight=False)


def _date_order(dayfirst: bool, monthfirst: bool) -> bool | None:
    """``dayfirst`` as :func:`.shares.estimate_shares` takes it (None: decided from the data)."""
    if dayfirst and monthfirst:
        raise fail("--dayfirst and --monthfirst: pass only one")
    return True if dayfirst else False if monthfirst else None
