"""``role-classifier train``: fit a head on labelled postings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import app
from .common import DelimiterOpt, QuietOpt, TaxonomyOpt, err, fail, quiet_libraries

if TYPE_CHECKING:
    from ..training import TrainConfig


@app.command("train")
def train_cli(
    data: Annotated[
        list[Path],
        typer.Argument(
            help="Labelled files (title, description, label): CSV (TSV), .jsonl, .parquet "
            "or .xlsx, by extension (.gz after CSV or JSON lines)."
        ),
    ],
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
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the folds, the dev split and the solver (overrides the config's seed).",
        ),
    ] = None,
    c: Annotated[
        float | None,
        typer.Option(
            "--c",
            help="The inverse L2 strength of the head's logistic regression: larger lets the head "
            "move further from the zero-shot scorer (overrides the config's c).",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output directory.")
    ] = False,
    delimiter: DelimiterOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit and calibrate a classifier head on labelled postings, then save it.

    Examples:

        role-classifier train data/samples/postings.csv --output models/mine

        role-classifier train data/samples/postings.csv --filter split=train -o models/mine
    """
    from ..data import parse_filters
    from ..modeling.model_card import model_card
    from ..taxonomy import load_taxonomy
    from ..training import load_training_data, train

    _check_output(output, overwrite)
    config_given = config is not None
    config = config if config is not None else _default_train_config()
    cfg = _read_config(config, seed=seed, c=c)
    filters = parse_filters(filter_)  # a bad filter or taxonomy: the one error rule (app.py)
    tax = load_taxonomy(taxonomy)
    try:
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
    except ValueError as exc:
        raise fail(str(exc)) from exc
    say = _silent if quiet else err.print  # --quiet: warnings (above) and errors only
    if not config_given:
        say(f"[dim]config: {config}[/]", highlight=False)
    say(f"training on {len(labelled.labels)} postings: {labelled.counts()}", highlight=False)
    steps = None if quiet else lambda msg: err.print(f"[dim]{msg}[/]")  # None: no bars either
    with quiet_libraries(quiet):
        clf = train(labelled, cfg, tax, progress=steps)
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
    with quiet_libraries(quiet):  # a fine-tuned backbone: transformers' "Writing model shards"
        clf.save_pretrained(output, model_card=model_card(clf, command))
    say(f"saved to {output}")


def _check_output(output: Path, overwrite: bool) -> None:
    """Refuse a file, or a folder with something in it unless ``--overwrite``."""
    if output.exists() and not output.is_dir():
        raise fail(f"--output {output} is a file; give a folder to save the model in")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise fail(f"{output} exists and is not empty; pass --overwrite to replace it")


def _read_config(config: Path, **overrides: object) -> TrainConfig:
    """The training config from ``config`` with the CLI's overrides; a clear error if bad."""
    import yaml

    from .._extras import require_extra
    from ..taxonomy import yaml_error_message
    from ..training import TrainConfig

    if not config.is_file():
        raise fail(
            f"--config {config}: no such file; give a training config YAML "
            "(configs/train.yaml is the shipped one), or leave --config out to use it"
        )
    try:
        cfg = TrainConfig.from_yaml(config, **overrides)
    except yaml.YAMLError as exc:
        raise fail(yaml_error_message(config, exc)) from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if cfg.finetune_epochs > 0 and cfg.finetune_lora_rank > 0:
        require_extra("peft")
    return cfg


def _silent(*_args: object, **_kwargs: object) -> None:
    """What ``--quiet`` prints instead of a progress line."""


def _default_train_config() -> Path:
    """``configs/train.yaml`` in the working folder when there is one, else the shipped copy."""
    here = Path("configs/train.yaml")
    return here if here.is_file() else Path(__file__).parent.parent / "configs" / "train.yaml"


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
