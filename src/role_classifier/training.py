"""Training: fit the classifier's head on labeled postings, calibrate it, save it.

The recipe (``configs/train.yaml``, every field of :class:`TrainConfig`):

1. Read the CSVs, check columns and labels against the taxonomy *before* any work starts.
2. Optionally fine-tune the backbone on the train part (``finetune_epochs``, fully or through a
   LoRA adapter, ``finetune_lora_rank``); the shipped config keeps it frozen.
3. Encode every posting once (title embedding + description windows, exactly as at prediction
   time) and build two views of each: with its title and without, so the model also learns to
   read descriptions alone.
4. Calibrate (``calibration``): fit a class-balanced multinomial logistic regression whose L2
   penalty pulls towards the zero-shot scorer (``anchor_zero_shot``) on all but a held-out part,
   score the held-out part, and fit the softmax temperatures on those held-out scores. With
   ``cross-val`` (the default, for a frozen backbone) every row is held out once, in
   ``calibration_folds`` folds that keep postings of one company together; with ``dev`` (needed
   to fine-tune) one stratified dev split is held out.
   The held-out scores also give the cross-validated (or dev) metrics stored with the model.
5. Refit on all rows with the same settings and save with :meth:`RoleClassifier.save_pretrained`.

Why the shipped default keeps the backbone frozen (LoRA and full fine-tunes were measured):
docs/model-selection.md.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import DataError, LabelledRows, csv_header, read_labelled_csv
from .modeling.features import FeatureLayout
from .modeling.fitting import fit_head, fit_temperature, source_weights
from .modeling.head import fit_review
from .modeling.held_out import HeldOut
from .modeling.model import Encoded, ModelConfig, RoleClassifier
from .modeling.training_features import TrainingFeatures
from .taxonomy import Taxonomy, load_taxonomy
from .text import Posting
from .training_config import TrainConfig

__all__ = [
    "TrainConfig",
    "TrainingDataError",
    "LabeledData",
    "load_training_data",
    "train",
    "fit_head",
    "fit_temperature",
]


class TrainingDataError(DataError):
    """Training data that cannot be used; raised before any training starts."""


@dataclass
class LabeledData:
    """Postings with labels, and where they came from."""

    postings: list[Posting]
    labels: list[str]
    sources: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    """per posting, what keeps related postings in one cross-validation fold: its file and
    company (``group_column``) where the file has one, else the posting alone."""

    def counts(self) -> dict[str, int]:
        """Rows per label."""
        return dict(Counter(self.labels))


def load_training_data(
    paths: Sequence[str | Path],
    taxonomy: Taxonomy,
    text_column: str = "description",
    title_column: str | None = "title",
    label_columns: Sequence[str] = ("label", "title_label"),
    filters: Mapping[str, Sequence[str]] | None = None,
    group_column: str | None = "company",
    delimiter: str | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> LabeledData:
    """Read labeled CSVs and validate them against the taxonomy.

    The files are read by :mod:`.io`, exactly as ``label-csv`` and ``evaluate`` read them.
    Rows with more or fewer cells than the header are skipped, and ``on_warning`` is told how
    many and on which lines (so are lines that were not UTF-8 and a sniffed delimiter).

    Args:
        label_columns: candidate label column names; each file uses the first it has.
        filters: keep rows whose ``col`` is one of the values, e.g. ``{"split": ["train"]}``;
            a file without ``col`` is kept whole.
        group_column: postings with the same value here (in one file) stay in one
            cross-validation fold, so near-identical ads of one company never calibrate each
            other; files without the column, and empty cells, group each posting alone.
        delimiter: the files' delimiter (one character, or ``tab``); sniffed per file when None.
        on_warning: called with each message about how a file was read; None issues them as
            :class:`UserWarning`.

    Raises:
        TrainingDataError: missing file or column, empty file, label outside the taxonomy,
            a row without text, a label with fewer than 2 rows.

    Example:
        >>> data = load_training_data(["data/samples/postings.csv"], load_taxonomy())  # doctest: +SKIP
    """
    if on_warning is None:
        on_warning = _warn
    out = LabeledData([], [], [], [])
    for path in paths:
        rows = _read_training_file(
            path,
            taxonomy,
            text_column,
            title_column,
            label_columns,
            filters or {},
            group_column,
            delimiter,
        )
        for message in rows.warnings():
            on_warning(message)
        _check_rows(path, rows, taxonomy)
        _add_rows(out, path, rows)
    _check_label_counts(out.labels, paths)
    return out


def _warn(message: str) -> None:
    """The default ``on_warning`` of :func:`load_training_data`: a warning at its caller."""
    import warnings

    warnings.warn(message, UserWarning, stacklevel=3)


def _read_training_file(
    path: str | Path,
    taxonomy: Taxonomy,
    text_column: str,
    title_column: str | None,
    label_columns: Sequence[str],
    filters: Mapping[str, Sequence[str]],
    group_column: str | None,
    delimiter: str | None,
) -> LabelledRows:
    """One labeled file's rows, through the first of ``label_columns`` it has; the title,
    group and filter columns only where the file has them."""
    try:
        columns = csv_header(path, delimiter=delimiter)
        label_col = next((c for c in label_columns if c in columns), None)
        if label_col is None:
            raise TrainingDataError(
                f"{path} has no label column ({' or '.join(label_columns)}); "
                f"its columns are: {', '.join(columns)}"
            )
        return read_labelled_csv(
            path,
            label_col,
            text_column,
            title_column if title_column in columns else None,
            taxonomy=taxonomy,
            filters={k: v for k, v in filters.items() if k in columns},
            group_column=group_column if group_column in columns else None,
            delimiter=delimiter,
        )
    except DataError as exc:
        raise TrainingDataError(str(exc)) from exc


def _check_rows(path: str | Path, rows: LabelledRows, taxonomy: Taxonomy) -> None:
    """Refuse a file with a label outside the taxonomy or a row that cannot be used."""
    if rows.unknown_labels:
        raise TrainingDataError(
            f"{path}: label(s) not in the taxonomy: {rows.unknown_labels} "
            f"(the taxonomy has: {', '.join(taxonomy.labels)})"
        )
    if rows.errors:
        first = rows.errors[0]
        raise TrainingDataError(
            f"{path}: {len(rows.errors)} unusable row(s); data row {first['row']} "
            f"(line {first['line']}): {first['error']}"
        )


def _add_rows(out: LabeledData, path: str | Path, rows: LabelledRows) -> None:
    """Append one file's rows to ``out``; a row without a group (company) is its own."""
    titles = rows.titles or [None] * len(rows)
    cells = rows.groups or [""] * len(rows)
    for title, description, label, cell, number in zip(
        titles, rows.descriptions, rows.labels, cells, rows.row_numbers
    ):
        out.postings.append(Posting(description=description, title=title or None))
        out.labels.append(label)
        out.sources.append(str(path))
        out.groups.append(f"{path}: {cell.strip() or f'row {number}'}")


def _check_label_counts(labels: Sequence[str], paths: Sequence[str | Path]) -> None:
    """Refuse labels with fewer than 2 rows."""
    counts = Counter(labels)
    rare = {k: v for k, v in counts.items() if v < 2}
    if rare:
        raise TrainingDataError(
            f"every label needs at least 2 rows; too few in {', '.join(map(str, paths))}: "
            f"{rare}. Add examples or remove the role from the taxonomy."
        )


def feature_matrix(
    clf: RoleClassifier, encoded: Sequence[Encoded], with_title: bool = True
) -> np.ndarray:
    """Head inputs for encoded postings; ``with_title=False`` drops every title."""
    views = encoded if with_title else [dataclasses.replace(e, title=None) for e in encoded]
    return clf.feature_matrix(views)


def _best_other_threshold(clf: RoleClassifier, proba: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    best, best_f1 = 0.0, -1.0
    for threshold in np.linspace(0.0, 0.6, 25):
        clf.config.other_threshold = float(threshold)
        f1 = f1_score(y, clf.decide(proba), average="macro")
        if f1 > best_f1 + 1e-9:
            best, best_f1 = float(threshold), f1
    clf.config.other_threshold = 0.0
    return best


def train(
    data: LabeledData,
    config: TrainConfig | None = None,
    taxonomy: Taxonomy | None = None,
    backbone: str = "bundled",
    progress: Callable[[str], None] | None = None,
) -> RoleClassifier:
    """Fit and calibrate a :class:`RoleClassifier` head on labeled postings.

    Example:
        >>> tax = load_taxonomy()
        >>> data = load_training_data(["data/samples/postings.csv"], tax)  # doctest: +SKIP
        >>> clf = train(data, TrainConfig(), tax)  # doctest: +SKIP
        >>> clf.save_pretrained("models/mine")  # doctest: +SKIP
    """
    config = config or TrainConfig()
    say = progress or (lambda _msg: None)
    clf, y = _set_up(data, config, taxonomy or load_taxonomy(), backbone)
    split = _split(y, config)  # (rows the head is fitted on, dev rows)
    start = time.perf_counter()
    if config.finetune_epochs > 0:
        _finetune(clf, data, y, split, config, say, progress is not None)
    say(f"encoding {len(data.postings)} postings")
    encoded = clf.encode(data.postings, show_progress=progress is not None)
    say(f"encoded in {time.perf_counter() - start:.0f}s")

    views = _Views(
        feature_matrix(clf, encoded, with_title=True),
        feature_matrix(clf, encoded, with_title=False) if config.description_only_view else None,
        y,
        clf.layout,
        source_weights(data.sources or ["" for _ in y], config.source_balance),
    )
    anchor = clf.zero_shot_head()["weight"] if config.anchor_zero_shot else None

    def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> dict[str, np.ndarray]:
        return fit_head(x, y, clf.layout, config, anchor, sample_weight=w)

    held_out = _held_out_scores(views, fit, data, split, config, say)
    say("fitting the head on all rows")
    clf.head = fit(*views.stack(np.arange(len(y))))
    held_out_metrics = None
    if held_out is not None:
        held_out_metrics = _calibrate(clf, held_out, config, say)
    clf.metadata = _metadata(data, y, config, held_out_metrics, start)
    if views.plain is not None:  # what adapt's refit fits on (training_features.npz)
        clf.training_features = TrainingFeatures(
            views.titled, views.plain, y, np.array(data.sources or ["" for _ in y])
        )
    return clf


def _set_up(
    data: LabeledData, config: TrainConfig, taxonomy: Taxonomy, backbone: str
) -> tuple[RoleClassifier, np.ndarray]:
    """The untrained classifier (fine-tuning always on torch) and the label index per row."""
    model_config = ModelConfig(
        backbone=backbone,
        window_tokens=config.window_tokens,
        max_windows=config.max_windows,
        batch_size=config.batch_size,
        read=config.read,
    )
    backend = "torch" if config.finetune_epochs > 0 else config.backend
    clf = RoleClassifier(taxonomy, model_config, backend=backend)
    label_index = {name: i for i, name in enumerate(clf.labels)}
    return clf, np.array([label_index[name] for name in data.labels])


def _split(y: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The rows the head (and a fine-tune) is fitted on, and the dev split (``dev`` only)."""
    rows = np.arange(len(y))
    if config.calibration != "dev":
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    return train_test_split(
        rows, test_size=config.dev_fraction, stratify=y, random_state=config.seed
    )


def _finetune(
    clf: RoleClassifier,
    data: LabeledData,
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    config: TrainConfig,
    say: Callable[[str], None],
    show_progress: bool,
) -> None:
    """Fine-tune ``clf``'s backbone on the train part (early-stopped on the dev split) and
    point its config at what ``save_pretrained`` writes: the adapter or the whole backbone."""
    from .finetune import finetune_backbone

    fit_rows, dev_rows = split
    say(f"fine-tuning the backbone for {config.finetune_epochs} epoch(s) on the train part")
    docs = _token_docs(clf, [data.postings[i] for i in fit_rows])
    dev_docs = _token_docs(clf, [data.postings[i] for i in dev_rows])
    tuned = finetune_backbone(
        clf.encoder,
        docs,
        y[fit_rows],
        len(clf.labels),
        epochs=config.finetune_epochs,
        windows_per_doc=config.finetune_windows,
        lr=config.finetune_lr,
        batch_size=config.finetune_batch_size,
        seed=config.seed,
        show_progress=show_progress,
        lora_rank=config.finetune_lora_rank,
        dev_docs=dev_docs,
        dev_labels=y[dev_rows],
    )
    say(
        f"fine-tuning loss per epoch: train {[round(v, 4) for v in tuned.train_loss]}, "
        f"dev {[round(v, 4) for v in tuned.dev_loss]}; kept epoch {tuned.best_epoch}"
    )
    clf.reset_prototypes()
    if config.finetune_lora_rank > 0:
        clf.config.adapter = "adapter"
    else:
        clf.config.backbone = "backbone"


def _held_out_scores(
    views: _Views,
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray | None], dict[str, np.ndarray]],
    data: LabeledData,
    split: tuple[np.ndarray, np.ndarray],
    config: TrainConfig,
    say: Callable[[str], None],
) -> _HeldOut | None:
    """Head scores of rows the head was not fitted on: the dev split, or every row out of
    fold (``cross-val``); None with ``calibration: none``."""
    fit_rows, dev_rows = split
    if config.calibration == "dev":
        say(f"fitting the head on the train part, scoring the dev split ({len(dev_rows)} rows)")
        return views.logits(fit(*views.stack(fit_rows)), dev_rows)
    if config.calibration != "cross-val":
        return None
    rows = np.arange(len(views.y))
    folds = _folds(views.y, data.groups or [str(i) for i in rows], config)
    say(f"scoring every row out of fold ({len(folds)} folds, companies kept whole)")
    parts = [views.logits(fit(*views.stack(train_part)), part) for train_part, part in folds]
    return _HeldOut(
        np.concatenate([p.logits for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.titled for p in parts]),
    )


def _calibrate(
    clf: RoleClassifier, held_out: _HeldOut, config: TrainConfig, say: Callable[[str], None]
) -> dict[str, Any]:
    """Fit the temperatures, the Other threshold and the review band on the held-out scores,
    keep the held-out data with the model, and return the held-out metrics."""
    _fit_temperatures(clf, held_out)
    proba = clf.proba_from_logits(held_out.logits, held_out.titled)
    if config.tune_other_threshold:
        clf.config.other_threshold = _best_other_threshold(clf, proba, held_out.y)
    held_out_metrics = _held_out_metrics(clf, held_out, proba, config.calibration)
    held_out_metrics["review"] = _fit_review_band(clf, proba, held_out.y, config)
    c = clf.config
    clf.held_out = HeldOut(  # saved with the model: role shares, the review band
        proba,
        held_out.y,
        held_out.titled,
        tuple(clf.labels),
        other_threshold=c.other_threshold,
        other_label=clf.taxonomy.other_label,
    )
    say(
        f"held out ({config.calibration}): {held_out_metrics}; temperature "
        f"{c.temperature:.3f} with a title, {c.temperature_description_only:.3f} "
        f"description only; Other threshold {c.other_threshold:.2f}"
    )
    return held_out_metrics


def _fit_temperatures(clf: RoleClassifier, held_out: _HeldOut) -> None:
    """One softmax temperature for rows with a title, one for description-only rows."""
    titled, plain = held_out.titled, ~held_out.titled
    if titled.any():
        clf.config.temperature = fit_temperature(held_out.logits[titled], held_out.y[titled])
    if plain.any():
        clf.config.temperature_description_only = fit_temperature(
            held_out.logits[plain], held_out.y[plain]
        )


def _fit_review_band(
    clf: RoleClassifier, proba: np.ndarray, y: np.ndarray, config: TrainConfig
) -> dict[str, Any]:
    """Set the review thresholds that reach ``review_precision`` on held-out rows; returns
    the ``review`` block of the held-out metrics."""
    c = clf.config
    c.review_confidence, c.review_margin, reached = fit_review(
        proba, clf.decide(proba), y, config.review_precision
    )
    c.review_precision = reached["precision"]
    return {
        "target_precision": config.review_precision,
        "min_confidence": c.review_confidence,
        "min_margin": c.review_margin,
        **reached,
    }


def _metadata(
    data: LabeledData,
    y: np.ndarray,
    config: TrainConfig,
    held_out_metrics: dict[str, Any] | None,
    start: float,
) -> dict[str, Any]:
    """What the saved model records about its training run."""
    return {
        "trained_at": time.strftime("%Y-%m-%d"),
        "train_config": dataclasses.asdict(config),
        "training_rows": {
            "total": len(y),
            "per_label": data.counts(),
            "per_source": dict(Counter(data.sources)),
        },
        "held_out_metrics": held_out_metrics,
        "seconds": round(time.perf_counter() - start, 1),
    }


@dataclass
class _HeldOut:
    """Head scores of rows the head was not fitted on (one row per view)."""

    logits: np.ndarray
    y: np.ndarray
    titled: np.ndarray


@dataclass
class _Views:
    """Every posting's features with its title and (optionally) without it."""

    titled: np.ndarray
    plain: np.ndarray | None
    y: np.ndarray
    layout: FeatureLayout
    weight: np.ndarray | None = None

    def stack(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Training matrix, labels and row weights for ``rows``: both views stacked."""
        w = None if self.weight is None else self.weight[rows]
        if self.plain is None:
            return self.titled[rows], self.y[rows], w
        x = np.vstack([self.titled[rows], self.plain[rows]])
        return x, np.tile(self.y[rows], 2), None if w is None else np.tile(w, 2)

    def logits(self, head: dict[str, np.ndarray], rows: np.ndarray) -> _HeldOut:
        """``head``'s scores for ``rows`` in every view; a row counts as titled by the same rule
        as at prediction time (:meth:`FeatureLayout.titled`: it has a title), not by its view."""
        x, y, _ = self.stack(rows)
        return _HeldOut(x @ head["weight"].T + head["bias"], y, self.layout.titled(x))


def _folds(
    y: np.ndarray, groups: Sequence[str], config: TrainConfig
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep each group (company) in one fold, seeded."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    # fewer folds when the data are too small (scikit-learn needs a class with n_splits rows)
    n_splits = min(config.calibration_folds, len(set(groups)), int(np.bincount(y).max()))
    folds = StratifiedGroupKFold(n_splits, shuffle=True, random_state=config.seed)
    with warnings.catch_warnings():  # "least populated class has only n members": expected
        warnings.simplefilter("ignore", UserWarning)
        return list(folds.split(np.zeros(len(y)), y, groups))


def _held_out_metrics(
    clf: RoleClassifier, held_out: _HeldOut, proba: np.ndarray, kind: str
) -> dict[str, Any]:
    """Accuracy and macro-F1 of the held-out scores, per view."""
    from sklearn.metrics import accuracy_score, f1_score

    pred = clf.decide(proba)
    out: dict[str, Any] = {"kind": kind}
    for view, rows in (("with_title", held_out.titled), ("description_only", ~held_out.titled)):
        if rows.any():
            out[view] = {
                "accuracy": round(float(accuracy_score(held_out.y[rows], pred[rows])), 4),
                "macro_f1": round(
                    float(f1_score(held_out.y[rows], pred[rows], average="macro")), 4
                ),
                "n": int(rows.sum()),
            }
    return out


def _token_docs(
    clf: RoleClassifier, postings: Sequence[Posting]
) -> list[tuple[list[int] | None, list[list[int]]]]:
    """Title token ids (or None) and description window token ids, per posting."""
    from .text import clean_text

    enc = clf.encoder
    windows = enc.windows_many([clean_text(p.description or "") for p in postings])
    out = []
    for p, w in zip(postings, windows):
        title = clean_text(p.title or "").replace("\n", " ")
        ids = enc.tokenize([title])[0] if title else None
        out.append((ids[: enc.window_tokens - 2] if ids else None, w.ids))
    return out
