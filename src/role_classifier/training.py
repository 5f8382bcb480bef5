"""Training: fit the classifier's head on labeled postings, calibrate it, save it.

The recipe (``configs/train.yaml``, every field of :class:`TrainConfig`):

1. Read the CSVs, check columns and labels against the taxonomy *before* any work starts.
2. Optionally fine-tune the backbone (``finetune_epochs``; off by default, see below).
3. Encode every posting once (title embedding + description windows, exactly as at prediction
   time) and build two views of each: with its title and without, so the model also learns to
   read descriptions alone.
4. Hold out a stratified dev split; fit a class-balanced multinomial logistic regression whose
   L2 penalty pulls towards the zero-shot scorer (``anchor_zero_shot``) on the rest, then fit a
   temperature on the dev split (calibration).
5. Refit on all rows with the same settings and save with :meth:`RoleClassifier.save_pretrained`.

The backbone stays frozen by default: one epoch of full fine-tuning took 22 minutes on 2 shared
CPU cores and scored lower on the dev split (macro-F1 0.901 against 0.919; README, "Training").
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

from .data import DataError, csv_header, read_labelled_csv
from .model import N_SCORE_BLOCKS, Encoded, ModelConfig, RoleClassifier
from .taxonomy import Taxonomy, load_taxonomy
from .text import Posting

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
class TrainConfig:
    """Settings of one training run (``configs/train.yaml``); unknown keys are rejected."""

    seed: int = 13
    """seed for the dev split and the solver: the same command twice gives the same model."""
    dev_fraction: float = 0.2
    """share of rows held out (stratified) to fit the temperature and the Other threshold."""
    anchor_zero_shot: bool = True
    """pull the head's weights towards the zero-shot scorer instead of towards zero."""
    c: float = 0.1
    """inverse L2 strength of the logistic regression on standardised features."""
    title_embedding_scale: float = 2.0
    """scales the standardised title-embedding features against the zero-shot scores: below 1
    they are penalised harder (0 leaves them out)."""
    embedding_scale: float = 0.3
    """the same for the mean description-window embedding."""
    class_weight: str = "balanced"
    """'balanced' reweights classes by inverse frequency; 'none' does not."""
    max_iter: int = 3000
    """solver iterations."""
    description_only_view: bool = True
    """also train on every posting without its title, so descriptions alone are read well."""
    calibrate: bool = True
    """fit softmax temperatures on the dev split (one with titles, one for descriptions alone)."""
    tune_other_threshold: bool = False
    """pick the Other threshold that maximises dev macro-F1 (else 0: plain arg-max)."""
    finetune_epochs: int = 0
    """epochs of full backbone fine-tuning before the head is fitted (0: frozen backbone)."""
    finetune_lr: float = 3e-5
    """AdamW learning rate for fine-tuning."""
    finetune_windows: int = 4
    """description windows sampled per posting per fine-tuning epoch (plus its title)."""
    finetune_batch_size: int = 16
    """windows per fine-tuning step."""
    window_tokens: int = 128
    """word-pieces per description window."""
    max_windows: int = 32
    """windows kept per ad."""
    batch_size: int = 32
    """windows per forward pass."""

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Load from YAML; ``overrides`` (CLI flags, None = unset) win over the file."""
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a training config must be a mapping")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> TrainConfig:
        """Build from a dict, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown training config key(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        return cls(**data)


@dataclass
class LabeledData:
    """Postings with labels, and where they came from."""

    postings: list[Posting]
    labels: list[str]
    sources: list[str] = field(default_factory=list)

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
) -> LabeledData:
    """Read labeled CSVs and validate them against the taxonomy.

    Args:
        label_columns: candidate label column names; each file uses the first it has.
        filters: keep rows whose ``col`` is one of the values, e.g. ``{"split": ["train"]}``;
            a file without ``col`` is kept whole.

    Raises:
        TrainingDataError: missing file or column, empty file, label outside the taxonomy,
            a row without text, a label with fewer than 2 rows.

    Example:
        >>> data = load_training_data(["data/samples/postings.csv"], load_taxonomy())  # doctest: +SKIP
    """
    postings: list[Posting] = []
    labels: list[str] = []
    sources: list[str] = []
    for path in paths:
        try:
            columns = csv_header(path)
            label_col = next((c for c in label_columns if c in columns), None)
            if label_col is None:
                raise TrainingDataError(
                    f"{path} has no label column ({' or '.join(label_columns)}); "
                    f"its columns are: {', '.join(columns)}"
                )
            rows = read_labelled_csv(
                path,
                label_col,
                text_column,
                title_column if title_column in columns else None,
                taxonomy=taxonomy,
                filters={k: v for k, v in (filters or {}).items() if k in columns},
            )
        except DataError as exc:
            raise TrainingDataError(str(exc)) from exc
        if rows.unknown_labels:
            raise TrainingDataError(
                f"{path}: label(s) not in the taxonomy: {rows.unknown_labels} "
                f"(the taxonomy has: {', '.join(taxonomy.labels)})"
            )
        if rows.errors:
            first = rows.errors[0]
            raise TrainingDataError(
                f"{path}: {len(rows.errors)} unusable row(s); data row {first['row']}: "
                f"{first['error']}"
            )
        titles = rows.titles or [None] * len(rows)
        for title, description, label in zip(titles, rows.descriptions, rows.labels):
            postings.append(Posting(description=description, title=title or None))
            labels.append(label)
            sources.append(str(path))
    counts = Counter(labels)
    rare = {k: v for k, v in counts.items() if v < 2}
    if rare:
        raise TrainingDataError(
            f"every label needs at least 2 rows; too few in {', '.join(map(str, paths))}: "
            f"{rare}. Add examples or remove the role from the taxonomy."
        )
    return LabeledData(postings, labels, sources)


def feature_matrix(
    clf: RoleClassifier, encoded: Sequence[Encoded], with_title: bool = True
) -> np.ndarray:
    """Head inputs for encoded postings; ``with_title=False`` drops every title."""
    rows = []
    for enc in encoded:
        view = enc if with_title else dataclasses.replace(enc, title=None)
        rows.append(clf.features(view))
    return np.stack(rows)


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    config: TrainConfig,
    anchor: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fit a standardised, class-balanced multinomial logistic regression.

    Args:
        anchor: raw-space weights (L, F) the L2 penalty pulls towards instead of zero (the
            zero-shot scorer, :meth:`RoleClassifier.zero_shot_head`): with little data the
            head stays the zero-shot model, and it moves away only where the data insist.

    Returns:
        ``{"weight": (L, F), "bias": (L,)}`` acting on raw features (the scaler is folded in).
    """
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-6] = 1.0
    # features(): [title emb (dim), has_title, mean window emb (dim), score blocks]
    dim = (x.shape[1] - 1 - N_SCORE_BLOCKS * n_labels) // 2
    scale = np.ones(x.shape[1])
    scale[:dim] = config.title_embedding_scale
    scale[dim + 1 : 2 * dim + 1] = config.embedding_scale
    std = std / np.maximum(scale, 1e-12)
    std[scale == 0] = np.inf  # weights of a block scaled to 0 come out exactly 0
    xs = (x - mean) / std
    if anchor is None:
        anchor = np.zeros((n_labels, x.shape[1]))
    return _fit_anchored(xs, y, n_labels, config, mean, std, anchor)


def _fit_anchored(
    xs: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    config: TrainConfig,
    mean: np.ndarray,
    std: np.ndarray,
    anchor: np.ndarray,
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression with penalty ``0.5 * ||W - W0||^2``, by L-BFGS.

    Same objective as scikit-learn's ``LogisticRegression`` (``C * sum(weighted log-loss) +
    penalty``, bias not penalised), but centred on the anchor ``W0``, which scikit-learn cannot
    do; with ``W0 = 0`` it is plain L2 logistic regression.
    """
    from scipy.optimize import minimize
    from sklearn.utils.class_weight import compute_sample_weight

    n, f = xs.shape
    finite = np.isfinite(std)
    w0 = np.where(finite, anchor * np.where(finite, std, 0.0), 0.0)  # anchor in scaled space
    b0 = anchor @ np.where(finite, mean, 0.0)
    onehot = np.eye(n_labels)[y]
    sw = (
        np.ones(n)
        if config.class_weight == "none"
        else compute_sample_weight(config.class_weight, y)
    )

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: n_labels * f].reshape(n_labels, f)
        b = theta[n_labels * f :]
        z = xs @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -config.c * float((sw * (onehot * logp).sum(axis=1)).sum())
        diff = w - w0
        loss += 0.5 * float((diff**2).sum())
        g = config.c * (sw[:, None] * (np.exp(logp) - onehot))
        grad_w = g.T @ xs + diff
        return loss, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    theta0 = np.concatenate([w0.ravel(), b0])
    res = minimize(
        objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": config.max_iter}
    )
    w = res.x[: n_labels * f].reshape(n_labels, f)
    b = res.x[n_labels * f :]
    weight = np.where(finite, w / np.where(finite, std, 1.0), 0.0)
    bias = b - weight @ np.where(finite, mean, 0.0)
    return {"weight": weight.astype(np.float32), "bias": bias.astype(np.float32)}


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising negative log-likelihood on held-out rows."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        return _log_loss(logits / np.exp(log_t), y)

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))


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
    from sklearn.model_selection import train_test_split

    config = config or TrainConfig()
    taxonomy = taxonomy or load_taxonomy()
    say = progress or (lambda _msg: None)
    model_config = ModelConfig(
        backbone=backbone,
        window_tokens=config.window_tokens,
        max_windows=config.max_windows,
        batch_size=config.batch_size,
    )
    clf = RoleClassifier(taxonomy, model_config)
    label_index = {name: i for i, name in enumerate(clf.labels)}
    y = np.array([label_index[name] for name in data.labels])

    rows = np.arange(len(y))
    fit_rows, dev_rows = train_test_split(
        rows, test_size=config.dev_fraction, stratify=y, random_state=config.seed
    )
    start = time.perf_counter()
    if config.finetune_epochs > 0:
        from .finetune import finetune_backbone

        say(f"fine-tuning the backbone for {config.finetune_epochs} epoch(s) on the train part")
        docs = _token_docs(clf, [data.postings[i] for i in fit_rows])
        losses = finetune_backbone(
            clf.encoder,
            docs,
            y[fit_rows],
            len(clf.labels),
            epochs=config.finetune_epochs,
            windows_per_doc=config.finetune_windows,
            lr=config.finetune_lr,
            batch_size=config.finetune_batch_size,
            seed=config.seed,
            show_progress=progress is not None,
        )
        say(f"fine-tuning losses per epoch: {[round(v, 4) for v in losses]}")
        clf.reset_prototypes()
        clf.config.backbone = "backbone"  # saved next to the head by save_pretrained
    say(f"encoding {len(data.postings)} postings")
    encoded = clf.encode(data.postings, show_progress=progress is not None)
    say(f"encoded in {time.perf_counter() - start:.0f}s")

    x_title = feature_matrix(clf, encoded, with_title=True)
    x_plain = feature_matrix(clf, encoded, with_title=False)

    def stack(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if config.description_only_view:
            return np.vstack([x_title[rows], x_plain[rows]]), np.concatenate([y[rows], y[rows]])
        return x_title[rows], y[rows]

    def view_has_title(rows: np.ndarray) -> np.ndarray:
        n = len(rows)
        return np.arange(2 * n if config.description_only_view else n) < n

    say("fitting the head on the train part")
    anchor = clf.zero_shot_head()["weight"] if config.anchor_zero_shot else None
    clf.head = fit_head(*stack(fit_rows), len(clf.labels), config, anchor)
    x_fit, y_fit = stack(fit_rows)
    x_dev, y_dev = stack(dev_rows)
    dev_logits = x_dev @ clf.head["weight"].T + clf.head["bias"]
    say(
        f"head fitted: log-loss {_log_loss(x_fit @ clf.head['weight'].T + clf.head['bias'], y_fit):.3f}"
        f" on the train part, {_log_loss(dev_logits, y_dev):.3f} on dev (before calibration)"
    )
    dev_titled = view_has_title(dev_rows)
    temperature, temperature_plain = 1.0, 0.0
    if config.calibrate:
        temperature = fit_temperature(dev_logits[dev_titled], y_dev[dev_titled])
        if config.description_only_view:
            temperature_plain = fit_temperature(dev_logits[~dev_titled], y_dev[~dev_titled])
    clf.config.temperature = temperature
    clf.config.temperature_description_only = temperature_plain
    dev_proba = clf.proba_from_logits(dev_logits, dev_titled)
    threshold = _best_other_threshold(clf, dev_proba, y_dev) if config.tune_other_threshold else 0.0
    from sklearn.metrics import accuracy_score, f1_score

    dev_pred = clf.decide(dev_proba)
    dev_metrics = {
        "accuracy": round(float(accuracy_score(y_dev, dev_pred)), 4),
        "macro_f1": round(float(f1_score(y_dev, dev_pred, average="macro")), 4),
        "n": int(len(y_dev)),
    }
    say(
        f"dev: {dev_metrics}, temperature {temperature:.3f} (with title), "
        f"{temperature_plain:.3f} (description only), other threshold {threshold:.2f}"
    )

    say("refitting the head on all rows")
    clf.head = fit_head(*stack(rows), len(clf.labels), config, anchor)
    clf.config.temperature = temperature
    clf.config.temperature_description_only = temperature_plain
    clf.config.other_threshold = threshold
    clf.metadata = {
        "trained_at": time.strftime("%Y-%m-%d"),
        "train_config": dataclasses.asdict(config),
        "training_rows": {
            "total": len(y),
            "per_label": data.counts(),
            "per_source": dict(Counter(data.sources)),
        },
        "dev_metrics": dev_metrics,
        "seconds": round(time.perf_counter() - start, 1),
    }
    return clf


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
        ids = enc.tokenizer(title, add_special_tokens=False)["input_ids"] if title else None
        out.append((ids[: enc.window_tokens - 2] if ids else None, w.ids))
    return out
