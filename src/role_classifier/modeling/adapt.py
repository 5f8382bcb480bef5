"""Adapting a model to a feed from a person's corrections: a new head, near the base's.

The backbone stays frozen, so a correction costs one encoding pass and the head refits in a
fraction of a second (no torch: the base's own encoder, int8 ONNX by default). The recipe:

1. Encode the corrected postings with the base's encoder and build two views of each, with its
   title and without (as training does), so descriptions alone are read as well.
2. Refit the head by :func:`.fitting.fit_head`, with the L2 penalty centred on the **base's own
   head** (weights and bias), not on the zero-shot scorer: with no corrections the result is the
   base model, and it moves only where the corrections insist. Each correction's loss is
   multiplied by ``weight`` (it counts as that many of the base's training rows), so a few dozen
   corrections matter against a penalty that stands for thousands of training rows.
3. Score every correction out of fold (``folds`` folds, both views of a posting in the same
   fold) and recalibrate: the temperatures are fitted on those scores and shrunk towards the
   base's (``prior_rows`` rows' worth of the base, so 20 corrections barely move them); the
   review band is refitted on the same scores for the target precision, judged by its Wilson
   lower bound (a few dozen rows are weak evidence), and never made looser than the base's.
4. The held-out data saved with the model (role shares, :mod:`.held_out`) are the base's plus the
   corrections' out-of-fold rows.

Where the base's folder carries its training postings' features (:data:`TRAINING_FEATURES`),
step 2 is instead the refit ``train`` does, on those rows plus the weighted corrections
(``method="auto"``, the default; ``"refit"`` or ``"anchored"`` force one): on a feed the base
never saw it gained a little more than the anchored head with 50-100 corrections (0.3-0.7
points on random splits of two feeds; about 1 point in all). Every model ``train`` saves
carries the file, the shipped default too (6.1 MB); the solver starts from the base's head, so
a refit of the default takes seconds. An adapted model has no such file (its head is no longer
the training's), so adapting it again is anchored. ``benchmarks/bench_adapt.py`` and
``benchmarks/bench_adapt_splits.py`` measure both (docs/adapt.md).

Example:
    >>> base = RoleClassifier.from_pretrained("default")  # doctest: +SKIP
    >>> mine = base.adapt(texts, labels, titles)  # doctest: +SKIP
    >>> mine.save_pretrained("models/my-feed")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError
from ..text import Posting
from .fitting import fit_head, fit_temperature
from .head import fit_review
from .held_out import HeldOut
from .training_features import TRAINING_FEATURES, TrainingFeatures

RoleClassifier = Any
"""a :class:`.model.RoleClassifier`: not imported, since ``RoleClassifier.adapt`` imports this."""
Encoded = Any
"""a :class:`.model.Encoded`."""

__all__ = [
    "TRAINING_FEATURES",
    "AdaptError",
    "AdaptOptions",
    "TrainingFeatures",
    "adapt_classifier",
    "check_roles",
    "correction_features",
    "review_thresholds",
]


REVIEW_Z = 1.0
"""Standard errors below the observed precision at which the adapted review band is judged
(:attr:`AdaptOptions.review_z`). Measured on two feeds their bases never saw, 50-100
corrections, random splits (docs/adapt.md): judged by the observed precision (0) the band let
through 0.946 (the board's feed) and 0.932 (LinkedIn) right answers on the rest of the feed; at
1.0, 0.967 and 0.956, at 48% and 45% coverage instead of 65% and 60%."""


class AdaptError(UserError):
    """Corrections that cannot be used; the message is one line."""


@dataclass(frozen=True)
class AdaptOptions:
    """How a head is adapted to corrections (validated once, here)."""

    weight: float = 1.0
    """each correction's loss counts as this many of the base's training rows."""
    folds: int = 5
    """folds for the out-of-fold scores that recalibrate the model."""
    min_rows_to_recalibrate: int = 10
    """fewer corrections than this keep the base's temperatures and review band."""
    prior_rows: float = 50.0
    """the base's temperatures count as this many rows when the new ones are fitted."""
    review_precision: float = 0.95
    """the precision of ``auto`` answers the review band is refitted for."""
    review_z: float = REVIEW_Z
    """the band is refitted for ``review_precision`` at the Wilson lower bound of its precision
    on the corrections, this many standard errors below the observed one (0: the observed):
    a few dozen corrections are weak evidence that a band is 95% precise."""
    description_only_view: bool = True
    """also fit on every correction without its title."""
    seed: int = 13
    """seed of the folds."""
    embedding_freedom: float = 0.3
    """multiplies the base's title- and description-embedding scales: below 1 the 769 embedding
    weights move less (they are penalised harder) and the role-score weights and biases carry the
    adaptation (``anchored`` only)."""
    method: str = "auto"
    """``refit``: the head is fitted as ``train`` fits it (anchored on the zero-shot scorer) on
    the base's own training features plus the corrections (:class:`TrainingFeatures`);
    ``anchored``: the penalty is centred on the base head (needs nothing but the base);
    ``auto``: ``refit`` where the base has its training features, else ``anchored``."""
    share: float = 0.0
    """above 0: the corrections together weigh this share of the base's training rows, i.e. each
    weighs ``share * n_train / n_corrections`` (never less than ``weight``), so 25 corrections
    and 200 pull equally hard in all."""
    title_embedding_scale: float | None = None
    """the title embedding's weight in the refitted head, against the role-score blocks (None:
    the base's training setting; ``anchored`` multiplies it by ``embedding_freedom``)."""

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"weight must be above 0, got {self.weight}")
        if self.method not in ("auto", "anchored", "refit"):
            raise ValueError(f"method must be 'auto', 'anchored' or 'refit', got {self.method!r}")
        if self.share < 0:
            raise ValueError(f"share must be at least 0, got {self.share}")
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds}")
        if not 0 < self.review_precision <= 1:
            raise ValueError(f"review_precision must be in (0, 1], got {self.review_precision}")
        if not self.review_z >= 0:
            raise ValueError(f"review_z must be at least 0, got {self.review_z}")
        if self.title_embedding_scale is not None and self.title_embedding_scale < 0:
            raise ValueError(
                f"title_embedding_scale must be at least 0, got {self.title_embedding_scale}"
            )

    def correction_weight(self, n_corrections: int, n_train: float) -> float:
        """Each correction's weight: ``weight``, or its part of ``share`` of ``n_train`` rows."""
        if self.share > 0 and n_corrections:
            return max(self.weight, self.share * n_train / n_corrections)
        return self.weight


@dataclass
class _HeadSettings:
    """:class:`.fitting.HeadSettings` of an adaptation: the base's training settings."""

    c: float = 0.1
    class_weight: str = "none"
    max_iter: int = 3000
    title_embedding_scale: float = 2.0
    embedding_scale: float = 0.3

    @classmethod
    def of(cls, base: RoleClassifier, options: AdaptOptions) -> _HeadSettings:
        saved = base.metadata.get("train_config") or {}
        fields = {f.name for f in dataclasses.fields(cls)} - {"class_weight"}
        out = cls(**{k: saved[k] for k in fields if k in saved})
        if options.title_embedding_scale is not None:
            out.title_embedding_scale = options.title_embedding_scale
        out.title_embedding_scale *= options.embedding_freedom
        out.embedding_scale *= options.embedding_freedom
        return out


def check_roles(base: RoleClassifier, labels: Sequence[str]) -> list[str]:
    """The corrections' labels as the base spells them (case and spaces forgiven).

    Raises:
        AdaptError: a label that is not one of the base's roles, or a role the base was trained
            without a single posting of (adding roles is the taxonomy's job, not adapting's).
    """
    known = {_key(name): name for name in base.labels}
    unknown = sorted({str(lab) for lab in labels if _key(lab) not in known})
    if unknown:
        raise AdaptError(
            f"role(s) not in the model: {', '.join(map(repr, unknown))} "
            f"(its roles are: {', '.join(base.labels)})"
        )
    out = [known[_key(lab)] for lab in labels]
    seen = _roles_seen(base)
    unseen = sorted(set(out) - seen) if seen is not None else []
    if unseen:
        raise AdaptError(
            f"the base model was trained without any posting of {', '.join(map(repr, unseen))}: "
            "adapting only moves roles it knows; adding a role is the taxonomy's job (add it "
            "with its titles and phrases to the taxonomy, then train)"
        )
    return out


def _key(label: object) -> str:
    return " ".join(str(label).split()).casefold()


def _roles_seen(base: RoleClassifier) -> set[str] | None:
    """Roles with training rows (or earlier corrections); None when unknown (zero-shot)."""
    per_label = (base.metadata.get("training_rows") or {}).get("per_label")
    if not per_label:
        return None
    seen = {k for k, v in per_label.items() if v}
    corrections = base.metadata.get("corrections") or {}
    seen |= set(corrections.get("per_label", {})) | set(corrections.get("earlier_per_label", {}))
    return seen


def adapt_classifier(
    base: RoleClassifier,
    postings: Sequence[Posting],
    labels: Sequence[str],
    options: AdaptOptions | None = None,
    *,
    source: str = "",
    progress: Callable[[str], None] | None = None,
    features: tuple[np.ndarray, np.ndarray] | None = None,
    training: TrainingFeatures | None = None,
) -> RoleClassifier:
    """A new model: ``base`` with its head refitted on corrected postings (``base`` unchanged).

    Args:
        postings: the corrected postings (title optional).
        labels: the right role of each (one of the base's roles).
        source: where the corrections came from (a file name), for the model card.
        progress: called with a line per step.
        features: the postings' :func:`correction_features`, when already computed (a
            benchmark that adapts many times to slices of one file encodes it once).
        training: the base's training features (``method="refit"``); by default read from the
            base's folder (:data:`TRAINING_FEATURES`).

    Raises:
        AdaptError: no corrections, unknown roles, roles the base never saw.
    """
    options = options or AdaptOptions()
    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    if len(postings) != len(labels):
        raise AdaptError(f"got {len(postings)} postings but {len(labels)} labels")
    if not postings:
        raise AdaptError("no corrections to adapt to")
    names = check_roles(base, labels)
    index = {name: i for i, name in enumerate(base.labels)}
    y = np.array([index[name] for name in names])
    if features is None:
        say(f"encoding {len(postings)} corrected postings")
        features = correction_features(base, base.encode(list(postings)))
    views = _views(base, features, y, options.description_only_view)
    if options.method != "anchored" and training is None:
        training = TrainingFeatures.of(base)
    method = options.method
    if method == "auto":
        method = "refit" if training is not None else "anchored"
    if method == "refit":
        if training is None:
            raise AdaptError(
                f"the base model has no {TRAINING_FEATURES} to refit on; use method='anchored'"
            )
        say(f"refitting on the base's {len(training.y)} training postings plus the corrections")
        fit = _refit_fitter(base, options, training, len(postings))
    else:
        fit = _fitter(base, options, len(postings))
    say("scoring the corrections out of fold")
    oof = _out_of_fold(views, fit, options)
    say("refitting the head on every correction")
    adapted = copy.copy(base)  # shares the loaded encoder and role embeddings, read-only
    adapted.head = fit(views.x, views.y)
    adapted.config = dataclasses.replace(base.config)
    adapted.source = None
    adapted.training_features = None  # the base's rows no longer describe this head
    metrics = _recalibrate(base, adapted, oof, options) if oof is not None else {}
    adapted.metadata = _metadata(base, names, options, metrics, source, start)
    adapted.metadata["adapted"]["method"] = method
    say(f"adapted in {time.perf_counter() - start:.1f}s")
    return adapted


@dataclass
class _Views:
    """Feature rows of every correction (titled view, then description-only), labels, groups."""

    x: np.ndarray
    y: np.ndarray
    posting: np.ndarray
    titled: np.ndarray


def correction_features(
    base: RoleClassifier, encoded: Sequence[Encoded]
) -> tuple[np.ndarray, np.ndarray]:
    """The head's inputs of encoded postings with their titles and without (two (n, F) arrays):
    what :func:`adapt_classifier` fits on, computed once when a benchmark adapts many times."""
    titled = base.feature_matrix(encoded)
    plain = base.feature_matrix([dataclasses.replace(e, title=None) for e in encoded])
    return titled, plain


def _views(
    base: RoleClassifier, features: tuple[np.ndarray, np.ndarray], y: np.ndarray, plain_view: bool
) -> _Views:
    titled, plain = features
    rows = np.arange(len(titled))
    has_title = base.layout.titled(titled)
    parts, labels, groups = [titled], [y], [rows]
    if plain_view and has_title.any():
        parts.append(plain[has_title])
        labels.append(y[has_title])
        groups.append(rows[has_title])
    x = np.vstack(parts)
    return _Views(x, np.concatenate(labels), np.concatenate(groups), base.layout.titled(x))


def _fitter(
    base: RoleClassifier, options: AdaptOptions, n_postings: int
) -> Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
    """Fits a head anchored on the base's (weights and bias), every row weighted."""
    anchor = base.active_head()
    settings = _HeadSettings.of(base, options)
    layout = base.layout
    n_train = float((base.metadata.get("training_rows") or {}).get("total") or 0)
    weight = options.correction_weight(n_postings, n_train)

    def fit(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        return fit_head(
            x,
            y,
            layout,
            settings,
            np.asarray(anchor["weight"], dtype=float),
            anchor_bias=np.asarray(anchor["bias"], dtype=float),
            sample_weight=np.full(len(y), weight),
        )

    return fit


REFIT_TOL = 1e-6
"""The refit's L-BFGS stopping rule (relative decrease of the objective; ``train`` uses scipy's
2.2e-9). Started from the base's head, a refit of v7 with 100 corrections stopped after 35-41
steps instead of about 260, with the same answer on 99.96% of 5,464 feature rows and every
probability within 0.008 of the tight fit's (docs/adapt.md)."""


def _refit_fitter(
    base: RoleClassifier, options: AdaptOptions, training: TrainingFeatures, n_postings: int
) -> Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
    """Fits a head as ``train`` does, on the base's training rows plus the weighted corrections."""
    saved = base.metadata.get("train_config") or {}
    settings = _HeadSettings.of(base, dataclasses.replace(options, embedding_freedom=1.0))
    settings.class_weight = saved.get("class_weight", "none")
    anchor = base.zero_shot_head()["weight"] if saved.get("anchor_zero_shot", True) else None
    tx, ty, tw = training.stacked(float(saved.get("source_balance", 0.0)))
    weight = options.correction_weight(n_postings, float(len(training.y)))
    layout = base.layout
    start = base.active_head()  # near the optimum on the training rows alone

    def fit(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        return fit_head(
            np.vstack([tx, x]),
            np.concatenate([ty, y]),
            layout,
            settings,
            anchor,
            sample_weight=np.concatenate([tw, np.full(len(y), weight)]),
            init=start,
            tol=REFIT_TOL,
        )

    return fit


@dataclass
class _OutOfFold:
    logits: np.ndarray
    y: np.ndarray
    titled: np.ndarray


def _out_of_fold(
    views: _Views,
    fit: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]],
    options: AdaptOptions,
) -> _OutOfFold | None:
    """Every correction scored by a head fitted without it (both its views in one fold)."""
    n_postings = len(np.unique(views.posting))
    if n_postings < options.min_rows_to_recalibrate:
        return None
    rng = np.random.default_rng(options.seed)
    fold_of = rng.permutation(n_postings) % min(options.folds, n_postings)
    fold = fold_of[views.posting]
    parts = []
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        head = fit(views.x[train], views.y[train])
        parts.append((test, views.x[test] @ head["weight"].T + head["bias"]))
    logits = np.zeros((len(views.y), parts[0][1].shape[1]))
    for test, z in parts:
        logits[test] = z
    return _OutOfFold(logits, views.y, views.titled)


def _recalibrate(
    base: RoleClassifier, adapted: RoleClassifier, oof: _OutOfFold, options: AdaptOptions
) -> dict[str, Any]:
    """Temperatures (shrunk towards the base's) and the review band (never looser than the
    base's) from the out-of-fold scores; returns what they reached on the corrections."""
    c, b = adapted.config, base.config
    if base.head is None:  # a zero-shot base has no temperature of its own
        base_t, base_plain = 1.0, 1.0
    else:
        base_t, base_plain = b.temperature, b.temperature_description_only or b.temperature
    for rows, field, prior in (
        (oof.titled, "temperature", base_t),
        (~oof.titled, "temperature_description_only", base_plain),
    ):
        if rows.any():
            fitted = fit_temperature(oof.logits[rows], oof.y[rows])
            n, n0 = int(rows.sum()), options.prior_rows
            setattr(c, field, float(np.exp((n * np.log(fitted) + n0 * np.log(prior)) / (n + n0))))
    proba = adapted.proba_from_logits(oof.logits, oof.titled)
    pred = adapted.decide(proba)
    c.review_confidence, c.review_margin, reached = review_thresholds(
        base, proba, pred, oof.y, options
    )
    adapted.held_out = _held_out(base, adapted, proba, oof)
    auto = adapted.review_bands(proba, pred) == "auto"
    return {
        "kind": "cross-val on the corrections",
        "accuracy": round(float((pred == oof.y).mean()), 4),
        "n": len(oof.y),
        "review": {
            "target_precision": options.review_precision,
            "min_confidence": c.review_confidence,
            "min_margin": c.review_margin,
            "coverage": round(float(auto.mean()), 4),
            "precision": round(float((pred[auto] == oof.y[auto]).mean()), 4)
            if auto.any()
            else None,
            "fitted_alone": reached,
        },
    }


def review_thresholds(
    base: RoleClassifier, proba: np.ndarray, pred: np.ndarray, y: np.ndarray, options: AdaptOptions
) -> tuple[float, float, dict[str, float]]:
    """The adapted review band from the corrections' out-of-fold scores: fitted for
    ``review_precision`` at ``review_z`` (:func:`.head.fit_review`), never looser than the
    base's; returns (min_confidence, min_margin, what the fitted pair reached on these rows)."""
    conf, margin, reached = fit_review(proba, pred, y, options.review_precision, z=options.review_z)
    b = base.config
    return max(conf, b.review_confidence), max(margin, b.review_margin), reached


def _held_out(
    base: RoleClassifier, adapted: RoleClassifier, proba: np.ndarray, oof: _OutOfFold
) -> HeldOut:
    """The base's held-out rows (if saved) and the corrections' out-of-fold rows."""
    rows = [(proba, oof.y, oof.titled)]
    if base.held_out is not None:
        h = base.held_out
        rows.insert(0, (h.proba, h.y, h.titled))
    return HeldOut(
        np.vstack([r[0] for r in rows]),
        np.concatenate([r[1] for r in rows]),
        np.concatenate([r[2] for r in rows]),
        tuple(adapted.labels),
        other_threshold=adapted.config.other_threshold,
        other_label=adapted.taxonomy.other_label,
    )


def _metadata(
    base: RoleClassifier,
    names: Sequence[str],
    options: AdaptOptions,
    metrics: dict[str, Any],
    source: str,
    start: float,
) -> dict[str, Any]:
    """The base's record, plus what was adapted from what."""
    meta = {k: v for k, v in base.metadata.items() if k not in ("adapted", "corrections")}
    before = base.metadata.get("corrections") or {}
    earlier = Counter(before.get("earlier_per_label", {})) + Counter(before.get("per_label", {}))
    per_label = Counter(names)
    return {
        **meta,
        "adapted": {
            "at": time.strftime("%Y-%m-%d"),
            "base": str(base.source) if base.source else "in memory",
            "base_adapted": "adapted" in base.metadata,
            "options": dataclasses.asdict(options),
            "held_out_metrics": metrics or None,
            "seconds": round(time.perf_counter() - start, 2),
        },
        "corrections": {
            "total": len(names),
            "per_label": dict(sorted(per_label.items())),
            "source": source or "in memory",
            "earlier_per_label": dict(sorted(earlier.items())),
        },
    }
