"""The ``role-classifier`` command line: thin wrappers that parse arguments and call the library.

Only typer, rich's console and the standard library are imported here; everything else (this
package's modules, the model, torch) loads inside the command that needs it, so
``role-classifier --help`` answers at once (``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from . import __version__


class _Commands(TyperGroup):
    """Lists each command with its whole first sentence (wrapped), not cut off with '...'."""

    def format_commands(self, ctx, formatter) -> None:  # noqa: ANN001 - click's types
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_Commands,
    help="Which AI/ML role is a job posting hiring for? 'classify' reads one ad, 'label-csv' "
    "labels every row of a CSV, 'evaluate' measures models on labelled data, 'train' fits a "
    "model on labelled postings, 'serve' answers over HTTP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: flags read as flags (not '--json <bool>'), long help wraps instead of
    # being cut off with '...' in narrow terminals, and '[default: ...]' in help text stays text
    rich_markup_mode=None,
)
err = Console(stderr=True, soft_wrap=True)  # error lines stay whole for grep


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


def _fail(message: str, code: int = 2) -> typer.Exit:
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
    """``--model`` in canonical form ('default', 'zero-shot', a folder); exit 2 listing the valid
    choices when it is none of them. Cheap: nothing is loaded."""
    from ._model_names import UnknownModelError, resolve_model_name

    try:
        return resolve_model_name(model)
    except UnknownModelError as exc:
        raise _fail(str(exc)) from exc


def load_model(model: str, taxonomy: Path | None, backend: str = "onnx"):  # noqa: ANN201
    """Load a model (a RoleClassifier) for a command, turning user mistakes into exit code 2."""
    from ._extras import EXTRAS, missing_extra_message
    from .taxonomy import TaxonomyError, load_taxonomy

    name = check_model_name(model)
    from .model import RoleClassifier

    try:
        tax = load_taxonomy(taxonomy) if taxonomy is not None else None
        return RoleClassifier.from_pretrained(name, taxonomy=tax, backend=backend)
    except (TaxonomyError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    except ModuleNotFoundError as exc:  # e.g. a model saved with a LoRA adapter, without peft
        if exc.name in EXTRAS:
            raise _fail(missing_extra_message(exc.name)) from exc
        raise


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
    backend: BackendOpt = "onnx",
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
    from .text import EmptyTextError, Posting, clean_text, split_title
    from .threads import thread_limits

    if file is not None and text not in (None, "-"):
        raise _fail("give the ad either as an argument or with --file, not both")
    model = check_model_name(model)  # before an ad is pasted
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
    title_given = title is not None
    if title is None:
        title, body = split_title(ad)
    else:
        body = ad
    clf = load_model(model, taxonomy, backend)
    try:
        with thread_limits(workers):
            pred = clf.classify(
                Posting(description=body, title=title), top_k=top_k, evidence=evidence
            )
    except EmptyTextError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(pred.as_answer(title, model), ensure_ascii=False))
        return
    _print_prediction(pred, title, title_given)


def _print_prediction(pred, title: str | None, title_given: bool = False) -> None:  # noqa: ANN001
    from rich.table import Table

    console = Console()
    if title_given:
        console.print(f"[dim]title (given by --title):[/] {title}", highlight=False)
    elif title:
        console.print(f"[dim]title (guessed from the first line):[/] {title}", highlight=False)
    else:
        console.print(
            "[dim]title: none (the first line did not look like one; --title sets it)[/]",
            highlight=False,
        )
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


@app.command("evaluate")
def evaluate_cli(
    data: Annotated[str, typer.Argument(help="A labelled CSV; '-' reads standard input.")],
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
    backend: BackendOpt = "onnx",
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
    from .data import DataError, parse_filters
    from .evaluation import BASELINE_NAME, evaluate
    from .taxonomy import TaxonomyError, load_taxonomy
    from .text import EmptyTextError
    from .threads import thread_limits

    names = list(dict.fromkeys(model or ["default"]))
    if BASELINE_NAME in names and baseline_train is None:
        raise _fail(f"--model {BASELINE_NAME} needs --baseline-train CSV to train on")
    if report_dir is not None:  # its figures need matplotlib: say so before any work
        from ._extras import MissingExtraError, require_extra

        try:
            require_extra("matplotlib")
        except MissingExtraError as exc:
            raise _fail(str(exc)) from exc
    try:
        filters = parse_filters(row_filter)
        train_filters = parse_filters(baseline_filter)
        tax = load_taxonomy(taxonomy) if taxonomy is not None else None
    except (DataError, TaxonomyError) as exc:
        raise _fail(str(exc)) from exc
    models = [
        name if name == BASELINE_NAME else (name, load_model(name, taxonomy, backend))
        for name in names
    ]
    try:
        with thread_limits(workers):
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
                progress=err.is_terminal,
                delimiter=delimiter,
            )
    except (DataError, EmptyTextError, OSError) as exc:
        raise _fail(str(exc)) from exc
    results = result["models"]
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if json_out == "-":
        typer.echo(text, nl=False)
    else:
        if json_out is not None:
            try:
                Path(json_out).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise _fail(f"cannot write {json_out}: {exc.strerror or exc}") from exc
        _print_evaluation(results)
    shared = set.intersection(*(set(m["warnings"]) for m in results))  # about the data
    for warning in [w for w in results[0]["warnings"] if w in shared]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for m in results:
        for warning in m["warnings"]:
            if warning not in shared:
                err.print(f"[yellow]warning ({m['model']}):[/] {warning}", highlight=False)
    from .evaluation import label_csv_command

    extra = ("--taxonomy", str(taxonomy)) if taxonomy is not None else ()
    extra += ("--backend", backend) if backend != "onnx" else ()  # the same scores
    for m in results:
        command = label_csv_command(m, *extra)
        if command:
            err.print(
                f"to label new postings with {m['model']} at precision "
                f"{m['coverage']['target_precision']:g} (coverage {m['coverage']['coverage']:.3f}"
                f" here): {command}",
                highlight=False,
            )
    if report_dir is not None:
        err.print(f"report: {report_dir / 'report.md'}", highlight=False)


def _print_evaluation(results: list[dict]) -> None:
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: don't squeeze the table into 80 columns
        console = Console(width=max(console.width, 140))
    first = results[0]
    rows = first["rows"]
    console.print(
        f"[dim]{rows['evaluated']} rows evaluated ({rows['total']} in the file, "
        f"{rows['filtered_out']} filtered out, {rows['unknown_label']} unknown labels, "
        f"{rows['errors']} errors)[/]",
        highlight=False,
    )
    if first["unknown_labels"]:
        shown = ", ".join(f"{k} ({v})" for k, v in sorted(first["unknown_labels"].items()))
        console.print(f"[yellow]labels not in the taxonomy (excluded):[/] {shown}", highlight=False)
    target = first["coverage"]["target_precision"]
    table = Table(title="Evaluation", title_justify="left")
    table.add_column("model")
    for name in ("n", "accuracy", "macro-F1", "weighted-F1", "ECE", "top-2"):
        table.add_column(name, justify="right")
    table.add_column(f"threshold for P≥{target:.2f}", justify="right")
    table.add_column("coverage", justify="right")
    for m in results:
        cov = m["coverage"]
        reached = cov["threshold"] is not None
        reach = [f"{cov['threshold']:.3f}", f"{cov['coverage']:.3f}"] if reached else ["–", "–"]
        table.add_row(
            m["model"],
            str(m["n"]),
            *(f"{m[k]:.3f}" for k in ("accuracy", "macro_f1", "weighted_f1", "ece")),
            f"{m['top2_accuracy']:.3f}",
            *reach,
        )
    console.print(table)
    roles = Table(title="F1 per role", title_justify="left")
    roles.add_column("role")
    roles.add_column("support", justify="right")
    for m in results:
        roles.add_column(m["model"], justify="right")
    for label, v in first["per_label"].items():
        f1s = (f"{m['per_label'][label]['f1']:.3f}" for m in results)
        roles.add_row(label, str(v["support"]), *f1s)
    console.print(roles)
    if "groups" in first:
        groups = Table(
            title=f"By {first['data']['group_column']}: macro-F1 / accuracy / ECE",
            title_justify="left",
        )
        groups.add_column("group")
        groups.add_column("n", justify="right")
        for m in results:
            groups.add_column(m["model"], justify="right")
        for name, g in first["groups"].items():
            cells = (
                "{macro_f1:.3f} / {accuracy:.3f} / {ece:.3f}".format(**m["groups"][name])
                for m in results
            )
            groups.add_row(name, str(g["n"]), *cells)
        console.print(groups)
    if first["excluded_labels"]:
        why = "no rows" if first["min_support"] <= 1 else f"fewer than {first['min_support']} rows"
        console.print(
            f"[dim]excluded from macro-F1 ({why}): {', '.join(first['excluded_labels'])}[/]",
            highlight=False,
        )


@app.command("label-csv")
def label_csv_cli(
    input_file: Annotated[
        str, typer.Argument(metavar="INPUT", help="A CSV with a header row; '-' reads stdin.")
    ],
    output_file: Annotated[
        str,
        typer.Argument(
            metavar="OUTPUT",
            help="A new file: .csv, .tsv, .jsonl (.ndjson) or .parquet (.pq), by extension "
            "(other extensions need --format); '-' writes to stdout. Its folder must exist.",
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
    backend: BackendOpt = "onnx",
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
            "--overwrite", help="Discard OUTPUT.partial left by an interrupted run; start over."
        ),
    ] = False,
    workers: WorkersOpt = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="csv, tsv, jsonl or parquet (default: from OUTPUT, csv for '-')."
        ),
    ] = None,
    delimiter: DelimiterOpt = None,
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
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local (this process, streaming, resumable) or ray (Ray Data: INPUT a file, "
            "folder or glob of .csv/.parquet/.jsonl, OUTPUT a folder of part files; needs "
            "pip install 'role-classifier[ray]').",
            case_sensitive=False,
        ),
    ] = "local",
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
) -> None:
    """Label every row of a CSV with its predicted role, streaming, resumable.

    Each row is written back untouched plus predicted_role, confidence, runner_up(s) and error.

    error is empty when fine, 'warning: ...' when classified but worth a look (e.g. not UTF-8).

    Bad rows (no text, more or fewer cells than the header) are kept, with an error and no
    prediction. The summary goes to stderr. A wrong OUTPUT, column or leftover partial run
    stops it before any row is classified (exit code 2).

    Examples:

        role-classifier label-csv jobs.csv out.csv --text-column description --title-column title

        role-classifier label-csv jobs.csv labelled.parquet --text-column description --top-k 3

        role-classifier label-csv jobs.csv labelled.csv --text-column description --resume

        role-classifier label-csv jobs.csv labelled.csv --text-column description
        --min-confidence 0.62 --evidence 2

        cat jobs.csv | role-classifier label-csv - - --text-column description > labelled.csv

        role-classifier label-csv 's3://bucket/postings/*.parquet' s3://bucket/labelled/
        --text-column description --engine ray --ray-address auto
    """
    from .batch import LabelCsvError, check_paths, label_csv, output_format_for
    from .data import DataError, parse_filters

    engine = engine.lower()
    if engine not in ("local", "ray"):
        raise _fail(f"unknown --engine {engine!r}: use local or ray")
    if engine == "ray":
        local_only = {"--resume": resume, "--overwrite": overwrite, "--filter": bool(row_filter)}
        _label_with_ray(
            input_file,
            output_file,
            local_only=[name for name, given in local_only.items() if given],
            text_column=text_column,
            title_column=title_column,
            model=model,
            taxonomy=taxonomy,
            backend=backend,
            batch_size=batch_size,
            top_k=top_k,
            workers=workers,
            output_format=output_format,
            delimiter=delimiter,
            min_confidence=min_confidence,
            evidence=evidence,
            ray_address=ray_address,
            concurrency=concurrency,
        )
        return
    if ray_address is not None or concurrency is not None:
        raise _fail("--ray-address and --concurrency need --engine ray")

    try:
        filters = parse_filters(row_filter)
        check_paths(
            input_file,
            output_file,
            output_format=output_format,
            resume=resume,
            overwrite=overwrite,
        )
    except (LabelCsvError, DataError) as exc:
        raise _fail(str(exc)) from exc
    check_model_name(model)  # cheap; the model itself loads once the input is checked
    with _rows_progress(err.is_terminal) as progress:
        try:
            summary = label_csv(
                input_file,
                output_file,
                text_column=text_column,
                title_column=title_column,
                model=lambda: load_model(model, taxonomy, backend),  # after the input is checked
                batch_size=batch_size,
                top_k=top_k,
                resume=resume,
                workers=workers,
                progress=progress,
                output_format=output_format,
                overwrite=overwrite,
                delimiter=delimiter,
                filters=filters,
                min_confidence=min_confidence,
                evidence=evidence,
            )
        except LabelCsvError as exc:
            raise _fail(str(exc)) from exc
        except KeyboardInterrupt:
            resumable = "-" not in (input_file, output_file) and (
                output_format_for(output_file, output_format) != "parquet"
            )
            hint = " (rerun the same command with --resume to continue)" if resumable else ""
            err.print(f"[yellow]interrupted[/]{hint}", highlight=False)
            raise typer.Exit(130) from None
    _print_label_summary(summary)


def _label_with_ray(
    input_file: str, output_file: str, *, local_only: list[str], taxonomy: Path | None, **kwargs
) -> None:
    """``label-csv --engine ray``: checks that need no cluster, then ``label_dataset``."""
    import importlib.util

    from .batch import LabelCsvError

    if "-" in (input_file, output_file):
        raise _fail(
            "--engine ray reads files and writes a folder: standard input/output ('-') need "
            "--engine local"
        )
    if local_only:
        raise _fail(
            f"{', '.join(local_only)}: not available with --engine ray (Ray Data cannot resume "
            "or filter rows here); use --engine local"
        )
    if importlib.util.find_spec("ray") is None:
        raise _fail("--engine ray needs Ray: pip install 'role-classifier[ray]'")
    clf = load_model(kwargs["model"], taxonomy, kwargs["backend"])  # a bad model: exit 2 now
    kwargs["model"] = check_model_name(kwargs["model"])
    kwargs["workers"] = kwargs["workers"] or 1
    from .ray_engine import label_dataset

    try:
        summary = label_dataset(
            input_file,
            output_file,
            taxonomy=clf.taxonomy if taxonomy is not None else None,
            progress=err.is_terminal,
            **kwargs,
        )
    except LabelCsvError as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        err.print(
            f"[yellow]interrupted[/]: Ray Data cannot resume; delete {output_file} and rerun",
            highlight=False,
        )
        raise typer.Exit(130) from None
    _print_label_summary(summary)


def _rows_progress(enabled: bool):  # noqa: ANN202 - a context manager of a progress callback
    """A rich progress bar (rows, rows/s, ETA) as a ``progress(done, total)`` callback."""
    import contextlib
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextlib.contextmanager
    def bar():  # noqa: ANN202
        if not enabled:
            yield None
            return
        columns = (
            TextColumn("labelling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err) as progress:
            start: dict[str, float] = {}

            def update(done: int, total: int | None) -> None:
                if not start:
                    start.update(t=time.perf_counter(), done=done)
                    start["task"] = progress.add_task("rows", total=total, completed=done, rate="")
                    return
                rate = (done - start["done"]) / max(time.perf_counter() - start["t"], 1e-9)
                progress.update(int(start["task"]), completed=done, rate=f"{rate:,.1f} rows/s")

            yield update

    return bar()


def _print_label_summary(s) -> None:  # noqa: ANN001 - batch.LabelSummary
    resumed = f" ({s.resumed_from:,} by the interrupted run)" if s.resumed_from else ""
    err.print(
        f"[bold]labelled {s.rows:,} rows[/]{resumed} in {s.seconds:.1f} s "
        f"({s.rows_per_second:,.1f} rows/s): {s.errors:,} errors, {s.warnings:,} warnings",
        highlight=False,
    )
    if s.label_counts:
        counts = ", ".join(f"{k} {v:,}" for k, v in s.label_counts.items())
        err.print(f"  {counts}", highlight=False)
    check = "ok" if s.rows - s.filtered_out == s.rows_written else "MISMATCH"
    filtered = f", filtered out {s.filtered_out:,}" if s.filtered_out else ""
    err.print(
        f"  rows in {s.rows:,}{filtered}, rows out {s.rows_written:,} ({check}) -> {s.output}",
        highlight=False,
    )
    for note in s.notes:
        err.print(f"  [yellow]note:[/] {note}", highlight=False)


@app.command("train")
def train_cli(
    data: Annotated[list[Path], typer.Argument(help="Labelled CSVs (title, description, label).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to save the model in (created).")
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Training config YAML (fields of TrainConfig). [default: configs/train.yaml "
            "when it exists here, else the one shipped with the package]",
        ),
    ] = None,
    taxonomy: TaxonomyOpt = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column of the posting's description.")
    ] = "description",
    title_column: Annotated[
        str,
        typer.Option(
            "--title-column", help="Column of the posting's title (files without it: none)."
        ),
    ] = "title",
    label_column: Annotated[
        list[str] | None,
        typer.Option(
            "--label-column",
            help="Repeatable: each file uses the first of these columns it has. "
            "[default: label, title_label]",
        ),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="COL=VALUE, repeatable: keep only matching rows of files that have COL "
            "(e.g. split=train).",
        ),
    ] = None,
    group_column: Annotated[
        str,
        typer.Option(
            "--group-column",
            help="Postings sharing a value here (per file) stay in one cross-validation fold; "
            "files without the column group each posting alone.",
        ),
    ] = "company",
    seed: Annotated[int | None, typer.Option("--seed", help="Overrides the config.")] = None,
    c: Annotated[float | None, typer.Option("--c", help="Overrides the config.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output directory.")
    ] = False,
    delimiter: DelimiterOpt = None,
) -> None:
    """Fit and calibrate a classifier head on labelled postings, then save it.

    Examples:

        role-classifier train data/samples/postings.csv --output models/mine

        role-classifier train data/samples/postings.csv --filter split=train -o models/mine
    """
    import yaml

    from ._extras import MissingExtraError, require_extra
    from .data import DataError, parse_filters
    from .model_card import model_card
    from .taxonomy import TaxonomyError, load_taxonomy, yaml_error_message
    from .training import TrainConfig, load_training_data, train

    if output.exists() and not output.is_dir():
        raise _fail(f"--output {output} is a file; give a folder to save the model in")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise _fail(f"{output} exists and is not empty; pass --overwrite to replace it")
    config_given = config is not None
    config = config if config is not None else _default_train_config()
    if not config.is_file():
        raise _fail(
            f"--config {config}: no such file; give a training config YAML "
            "(configs/train.yaml is the shipped one), or leave --config out to use it"
        )
    try:
        filters = parse_filters(filter_)
        tax = load_taxonomy(taxonomy)
        cfg = TrainConfig.from_yaml(config, seed=seed, c=c)
        if cfg.finetune_epochs > 0 and cfg.finetune_lora_rank > 0:
            require_extra("peft")
        labelled = load_training_data(
            data,
            tax,
            text_column=text_column,
            title_column=title_column,
            label_columns=label_column or ("label", "title_label"),
            filters=filters,
            group_column=group_column or None,
            delimiter=delimiter,
            on_warning=lambda msg: err.print(f"[yellow]warning:[/] {msg}", highlight=False),
        )
    except yaml.YAMLError as exc:
        raise _fail(yaml_error_message(config, exc)) from exc
    except (TaxonomyError, DataError, ValueError, MissingExtraError) as exc:
        raise _fail(str(exc)) from exc
    if not config_given:
        err.print(f"[dim]config: {config}[/]", highlight=False)
    err.print(f"training on {len(labelled.labels)} postings: {labelled.counts()}", highlight=False)
    clf = train(labelled, cfg, tax, progress=lambda msg: err.print(f"[dim]{msg}[/]"))
    command = _train_command(
        data,
        output,
        config,
        taxonomy,
        text_column=text_column,
        title_column=title_column,
        label_column=label_column,
        filter_=filter_,
        group_column=group_column,
        seed=seed,
        c=c,
        overwrite=overwrite,
    )
    clf.save_pretrained(output, model_card=model_card(clf, command))
    err.print(f"saved to {output}")


def _default_train_config() -> Path:
    """``configs/train.yaml`` in the working folder when there is one, else the shipped copy."""
    here = Path("configs/train.yaml")
    return here if here.is_file() else Path(__file__).parent / "configs" / "train.yaml"


def _train_command(
    data: list[Path],
    output: Path,
    config: Path,
    taxonomy: Path | None,
    **options: object,
) -> str:
    """The command line that reproduces a training run, for the model card: the settings in
    force (the config file actually read included), not whatever ``sys.argv`` holds."""
    import os
    import shlex

    def shown(path: Path) -> str:  # relative to the working folder when inside it
        rel = os.path.relpath(path.resolve())
        return path.as_posix() if rel.startswith("..") else Path(rel).as_posix()

    args = ["role-classifier", "train", *map(shown, data), "--output", shown(output)]
    args += ["--config", shown(config)]
    if taxonomy is not None:
        args += ["--taxonomy", shown(taxonomy)]
    defaults = {"text_column": "description", "title_column": "title", "group_column": "company"}
    for name, value in options.items():
        flag = "--" + name.rstrip("_").replace("_", "-")
        if value is None or value is False or defaults.get(name) == value:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, list):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return shlex.join(args)


@app.command("serve")
def serve_cli(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind; anything but 127.0.0.1 is warned about."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    model: ModelOpt = "default",
    taxonomy: TaxonomyOpt = None,
    backend: BackendOpt = "onnx",
    workers: WorkersOpt = None,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest CSV upload, in MB.")
    ] = 50.0,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            "--batch-wait-ms",
            min=0.0,
            help="How long a request waits for others to share its forward pass, at most.",
        ),
    ] = 5.0,
) -> None:
    """Serve a page and a JSON API (POST /v1/classify, /v1/classify-batch), the model kept warm.

    Open http://127.0.0.1:8000/ for the page, /docs for the API. Ctrl-C stops it.

    Examples:

        role-classifier serve

        role-classifier serve --port 8080 --model zero-shot --workers 2

        curl -s localhost:8000/v1/classify -H 'content-type: application/json' -d '{"text": "..."}'
    """
    import importlib.util

    missing = [
        m for m in ("fastapi", "uvicorn", "multipart") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise _fail(
            f"{', '.join(missing)} not installed (serve needs them): "
            "pip install 'role-classifier[serve]'"
        )
    from .serve import run

    clf = load_model(model, taxonomy, backend)
    run(
        clf,
        host=host,
        port=port,
        model_name=model,
        workers=workers,
        max_wait_ms=batch_wait_ms,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
    )
