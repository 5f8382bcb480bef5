"""Does adapting to a feed's corrections help? A simulated user per source, and adapt's time.

Input: labelled files with ``source``, ``title``, ``description`` and ``label`` columns (``id``,
``company``, ``month`` where they exist), e.g. the per-source expert labels:

    .venv/bin/python benchmarks/bench_adapt.py /tmp/validation.csv
    .venv/bin/python benchmarks/bench_adapt.py /tmp/source_validation_labelled.csv --weights 5 20 50

    # against refitting on the base's own training rows plus the corrections
    .venv/bin/python benchmarks/bench_adapt.py - --train-features /tmp/train.npz --encode-training \
        data/samples/postings.csv data/samples/feed_like.csv \
        ../shared/data/real-postings/postings.csv /tmp/real_feed_labelled.csv   # ~20 min, once
    .venv/bin/python benchmarks/bench_adapt.py /tmp/validation.csv --no-curve \
        --train-features /tmp/train.npz --ks 25 50 --weights 1

    # a feed the base never saw: corrections from a source's part=pool rows, scored on its
    # part=held rows (never corrected), the rest of the pool and every other source's held rows
    .venv/bin/python benchmarks/bench_adapt.py /tmp/adapt/data/bench_pool.csv \
        --model /tmp/adapt/base-noboard --pool-sources feed --ks 25 50 100 200 \
        --train-features /tmp/adapt/train_noboard.npz \
        --methods "anchored weight=1" "refit weight=1" "refit share=0.5" --jsonl runs.jsonl

For each source, the user corrects the first k postings (k = 25, 50, 100, 200, as far as the
source leaves at least ``--min-rest`` postings to score) in **queue order** (the order
``role-classifier review`` gives, from the base model's scores: :func:`role_classifier.review.
queue_order`) and in **random order** (``--random`` seeds, averaged), with the readers' labels as
the corrections; the base is adapted (:meth:`RoleClassifier.adapt`) and scores the rest of that
source. Printed per source, k and order: accuracy of the base and of the adapted model on the
same remaining postings (with titles, and descriptions alone), the change on every *other*
source's postings (all of them: a model adapted to one feed should not forget the others), and
the adapted model's ``auto`` band on the rest (precision, coverage), and the whole source as the
user ends up with it: the base's accuracy on all of it, with the k postings corrected by hand and
the base's answers for the rest ("fixed"), and with the adapted model's answers for the rest
("+adapt"). Then adapt's time for 100
and 1,000 corrections: the encoding pass (measured per posting on this machine) and the refit
(head, five out-of-fold refits, temperatures, review band).

Every posting is encoded once with the base model; the features are cached under ``/tmp``
(keyed by the model and the rows), so reruns take a minute. No posting text is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from role_classifier.corrections import read_table
from role_classifier.modeling.adapt import (
    AdaptOptions,
    TrainingFeatures,
    adapt_classifier,
    correction_features,
)
from role_classifier.modeling.loading import load_classifier
from role_classifier.review import queue_order
from role_classifier.text import Posting

KS = (25, 50, 100, 200)


def _rows(paths: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        _header, table = read_table(path)
        for r in table:
            if r.get("label") and (r.get("description") or r.get("title")):
                rows.append({k: "" if v is None else str(v) for k, v in r.items()})
    return rows


def _features(base, rows: list[dict], cache_dir: Path) -> tuple[np.ndarray, np.ndarray, float]:  # noqa: ANN001
    """Titled and description-only features of every row (cached), and seconds per posting."""
    key = hashlib.sha256()  # what the features depend on (the encoder, the reading, the roles),
    c = base.config  # not the head: bases trained with one config share the cache
    for part in (c.backbone, c.adapter, c.window_tokens, c.max_windows, c.max_chars, c.read):
        key.update(f"{part}\0".encode())
    key.update(f"{c.top_k_windows}\0{base.labels}\0{base.backend}".encode())
    for r in rows:
        key.update((r.get("title", "") + "\0" + r["description"]).encode())
    path = cache_dir / f"features-{key.hexdigest()[:16]}.npz"
    if path.is_file():
        data = np.load(path)
        check = [Posting(r["description"], r.get("title") or None) for r in rows[:2]]
        again, _ = correction_features(base, base.encode(check))
        if not np.allclose(again, data["titled"][: len(check)], atol=1e-4):
            sys.exit(f"{path} was computed with another encoder or taxonomy; remove it")
        return data["titled"], data["plain"], float(data["seconds_per_posting"])
    postings = [Posting(r["description"], r.get("title") or None) for r in rows]
    start = time.perf_counter()
    encoded = base.encode(postings, show_progress=True)
    per = (time.perf_counter() - start) / max(len(rows), 1)
    titled, plain = correction_features(base, encoded)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, titled=titled, plain=plain, seconds_per_posting=per)
    return titled, plain, per


class Bench:
    """The rows, their features and the base's answers; one method per measurement."""

    def __init__(self, base, rows: list[dict], titled: np.ndarray, plain: np.ndarray) -> None:  # noqa: ANN001
        self.base, self.rows, self.titled, self.plain = base, rows, titled, plain
        self.labels = [r["label"] for r in rows]
        index = {name: i for i, name in enumerate(base.labels)}
        self.y = np.array([index[lab] for lab in self.labels])
        self.postings = [Posting(r["description"], r.get("title") or None) for r in rows]
        self.source = np.array([r["source"] for r in rows])

    def proba(self, model, rows: np.ndarray, plain: bool = False) -> np.ndarray:  # noqa: ANN001
        x = (self.plain if plain else self.titled)[rows]
        return model.proba_from_logits(model.logits_from_features(x), model.layout.titled(x))

    def accuracy(self, model, rows: np.ndarray, plain: bool = False) -> float:  # noqa: ANN001
        if not len(rows):
            return float("nan")
        return float((model.decide(self.proba(model, rows, plain)) == self.y[rows]).mean())

    def auto_band(self, model, rows: np.ndarray) -> tuple[float, float]:  # noqa: ANN001
        proba = self.proba(model, rows)
        pred = model.decide(proba)
        auto = model.review_bands(proba, pred) == "auto"
        precision = float((pred[auto] == self.y[rows][auto]).mean()) if auto.any() else float("nan")
        return precision, float(auto.mean())

    def queue(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` in the review queue's order, from the base's scores."""
        proba = self.proba(self.base, rows)
        pred = self.base.decide(proba)
        top2 = -np.sort(-proba, axis=1)[:, :2]
        bands = self.base.review_bands(proba, pred)
        order = queue_order(
            list(top2[:, 0] - top2[:, 1]),
            list(bands != "auto"),
            [self.base.labels[i] for i in pred],
            [self.rows[i].get("company", "") for i in rows],
            [self.rows[i].get("month", "")[:7] for i in rows],
        )
        return rows[np.array(order)]

    def adapt(self, rows: np.ndarray, weight: float | AdaptOptions, training=None):  # noqa: ANN001, ANN201
        options = (  # a bare weight: the anchored head (auto would refit where the base has features)
            weight
            if isinstance(weight, AdaptOptions)
            else AdaptOptions(weight=weight, method="anchored")
        )
        return adapt_classifier(
            self.base,
            [self.postings[i] for i in rows],
            [self.labels[i] for i in rows],
            options,
            features=(self.titled[rows], self.plain[rows]),
            training=training,
        )


def _one(bench: Bench, order: np.ndarray, k: int, weight: float, others: np.ndarray) -> dict:
    corr, rest = order[:k], order[k:]
    adapted = bench.adapt(corr, weight)
    precision, coverage = bench.auto_band(adapted, rest)
    n = len(order)
    return {
        "source_base": bench.accuracy(bench.base, order),
        "source_fixed": (k + bench.accuracy(bench.base, rest) * len(rest)) / n,
        "source_adapted": (k + bench.accuracy(adapted, rest) * len(rest)) / n,
        "base": bench.accuracy(bench.base, rest),
        "adapted": bench.accuracy(adapted, rest),
        "base_plain": bench.accuracy(bench.base, rest, plain=True),
        "adapted_plain": bench.accuracy(adapted, rest, plain=True),
        "others": bench.accuracy(adapted, others) - bench.accuracy(bench.base, others),
        "auto_precision": precision,
        "auto_coverage": coverage,
    }


def _curve(bench: Bench, args: argparse.Namespace) -> None:
    head = (
        f"{'source':<14} {'n':>4} {'k':>4} {'rest':>4} {'order':<7} {'w':>4} "
        f"{'base':>6} {'adapt':>6} {'diff':>6} | {'desc base':>9} {'adapt':>6} | "
        f"{'others':>7} | {'auto prec':>9} {'cov':>5} | {'all base':>8} {'fixed':>6} {'+adapt':>6}"
    )
    print(head)
    print("-" * len(head))
    for source in sorted(set(bench.source)):
        rows = np.flatnonzero(bench.source == source)
        others = np.flatnonzero(bench.source != source)
        rng = np.random.default_rng(0)
        randoms = [rng.permutation(rows) for _ in range(args.random)]
        for k in [k for k in args.ks if len(rows) - k >= args.min_rest]:
            for weight in args.weights:
                for name, orders in (("queue", [bench.queue(rows)]), ("random", randoms)):
                    runs = [_one(bench, o, k, weight, others) for o in orders]
                    m = {key: float(np.nanmean([r[key] for r in runs])) for key in runs[0]}
                    print(
                        f"{source[:14]:<14} {len(rows):>4} {k:>4} {len(rows) - k:>4} {name:<7} "
                        f"{weight:>4g} {m['base']:>6.3f} {m['adapted']:>6.3f} "
                        f"{100 * (m['adapted'] - m['base']):>+6.1f} | {m['base_plain']:>9.3f} "
                        f"{m['adapted_plain']:>6.3f} | {100 * m['others']:>+7.1f} | "
                        f"{m['auto_precision']:>9.3f} {m['auto_coverage']:>5.2f} | "
                        f"{m['source_base']:>8.3f} {m['source_fixed']:>6.3f} "
                        f"{m['source_adapted']:>6.3f}",
                        flush=True,
                    )


def _method(spec: str) -> tuple[str, AdaptOptions]:
    """``"refit weight=5"``, ``"anchored share=0.5 embedding_freedom=1"``: a name and options."""
    name, *pairs = spec.split()
    defaults = AdaptOptions()
    kwargs: dict = {"method": name}
    for pair in pairs:
        key, value = pair.split("=")
        if key not in {f.name for f in dataclasses.fields(AdaptOptions)}:
            sys.exit(f"--methods: no AdaptOptions field {key!r}")
        default = getattr(defaults, key)  # the field's own type (a float where it is None)
        kind = float if default is None else type(default)
        kwargs[key] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return spec, AdaptOptions(**kwargs)


def _pool_curve(bench: Bench, args: argparse.Namespace, training) -> None:  # noqa: ANN001
    """Corrections from a source's ``part=pool`` rows; scored on its ``part=held`` rows (never
    corrections), on the pool's remaining rows, and on every other source's held rows."""
    import json

    part = np.array([r.get("part", "") for r in bench.rows])
    held_all = part == "held"
    methods = [_method(spec) for spec in args.methods]
    out = open(args.jsonl, "a") if args.jsonl else None  # noqa: SIM115
    head = (
        f"{'source':<9} {'k':>4} {'order':<6} {'method':<34} | {'held':>5} {'adapt':>5} "
        f"{'diff':>5} | {'desc':>5} {'adapt':>5} {'diff':>5} | {'rest':>5} {'adapt':>5} "
        f"{'diff':>5} | {'auto prec':>9} {'cov':>4} | {'rest prec':>9} {'cov':>4} | "
        f"{'board':>5} | {'others mean':>11} {'worst':>5} | {'s':>4}"
    )
    for source in args.pool_sources:
        pool = np.flatnonzero((bench.source == source) & (part == "pool"))
        held = np.flatnonzero((bench.source == source) & held_all)
        board = [b for b in args.same_board if b != source]
        others = {
            o: np.flatnonzero((bench.source == o) & held_all)
            for o in sorted(set(bench.source[held_all]) - {source})
        }
        base_acc = {o: bench.accuracy(bench.base, r) for o, r in others.items()}
        prec, cov = bench.auto_band(bench.base, held)
        print(
            f"\n{source}: pool {len(pool)}, held {len(held)}; the base on held: "
            f"{bench.accuracy(bench.base, held):.3f} with titles, "
            f"{bench.accuracy(bench.base, held, plain=True):.3f} from descriptions, auto "
            f"precision {prec:.3f} coverage {cov:.2f}; on the pool "
            f"{bench.accuracy(bench.base, pool):.3f}; others "
            + ", ".join(f"{o} {a:.3f}" for o, a in base_acc.items())
        )
        print(head)
        print("-" * len(head))
        rng = np.random.default_rng(0)
        orders = [("queue", [bench.queue(pool)])]
        orders.append(("random", [rng.permutation(pool) for _ in range(args.random)]))
        for k in args.ks:
            for spec, options in methods:
                for name, runs_of in orders:
                    runs = []
                    for order in runs_of:
                        corr, rest = order[:k], order[k:]
                        start = time.perf_counter()
                        adapted = bench.adapt(corr, options, training)
                        seconds = time.perf_counter() - start
                        p_h, c_h = bench.auto_band(adapted, held)
                        p_r, c_r = bench.auto_band(adapted, rest)
                        delta = {
                            o: bench.accuracy(adapted, r) - base_acc[o] for o, r in others.items()
                        }
                        far = [delta[o] for o in others if o not in board]
                        runs.append(
                            {
                                "held_base": bench.accuracy(bench.base, held),
                                "held": bench.accuracy(adapted, held),
                                "plain_base": bench.accuracy(bench.base, held, plain=True),
                                "plain": bench.accuracy(adapted, held, plain=True),
                                "rest_base": bench.accuracy(bench.base, rest),
                                "rest": bench.accuracy(adapted, rest),
                                "auto_precision": p_h,
                                "auto_coverage": c_h,
                                "rest_precision": p_r,
                                "rest_coverage": c_r,
                                "board": float(np.mean([delta[b] for b in board]))
                                if board
                                else float("nan"),
                                "others_mean": float(np.mean(far)),
                                "others_worst": float(np.min(far)),
                                "seconds": seconds,
                                **{f"d_{o}": d for o, d in delta.items()},
                            }
                        )
                    m = {key: float(np.nanmean([r[key] for r in runs])) for key in runs[0]}
                    if out:
                        out.write(
                            json.dumps(
                                {
                                    "model": args.model,
                                    "source": source,
                                    "k": k,
                                    "order": name,
                                    "method": spec,
                                    "runs": runs,
                                    "mean": m,
                                }
                            )
                            + "\n"
                        )
                        out.flush()
                    print(
                        f"{source[:9]:<9} {k:>4} {name:<6} {spec[:34]:<34} | "
                        f"{m['held_base']:>5.3f} {m['held']:>5.3f} "
                        f"{100 * (m['held'] - m['held_base']):>+5.1f} | {m['plain_base']:>5.3f} "
                        f"{m['plain']:>5.3f} {100 * (m['plain'] - m['plain_base']):>+5.1f} | "
                        f"{m['rest_base']:>5.3f} {m['rest']:>5.3f} "
                        f"{100 * (m['rest'] - m['rest_base']):>+5.1f} | "
                        f"{m['auto_precision']:>9.3f} {m['auto_coverage']:>4.2f} | "
                        f"{m['rest_precision']:>9.3f} {m['rest_coverage']:>4.2f} | "
                        f"{100 * m['board']:>+5.1f} | {100 * m['others_mean']:>+11.1f} "
                        f"{100 * m['others_worst']:>+5.1f} | {m['seconds']:>4.1f}",
                        flush=True,
                    )


def _refit_alone(bench: Bench, training: TrainingFeatures):  # noqa: ANN202
    """The base's head refitted on its own training features, no corrections (a check that the
    features are the ones it was trained on): ``adapt``'s refit, with nothing added."""
    import copy

    from role_classifier.modeling.adapt import _refit_fitter

    fit = _refit_fitter(bench.base, AdaptOptions(method="refit"), training, 0)
    model = copy.copy(bench.base)
    model.head = fit(np.zeros((0, bench.titled.shape[1])), np.zeros(0, dtype=int))
    return model


def _compare_refit(bench: Bench, args: argparse.Namespace) -> None:
    """Anchored on the base head (adapt) against refitting on the base's training rows."""
    tf = TrainingFeatures.load(args.train_features)
    everything = np.arange(len(bench.y))
    start = time.perf_counter()
    again = _refit_alone(bench, tf)
    print(
        f"\nrefit on the base's {len(tf.y)} training postings alone: accuracy "
        f"{bench.accuracy(again, everything):.3f} on all rows here (the base: "
        f"{bench.accuracy(bench.base, everything):.3f}); {time.perf_counter() - start:.0f} s a refit"
    )
    print(
        f"{'source':<10} {'k':>3} {'order':<7} {'w':>3} {'base':>6} {'adapt':>6} {'refit':>6} | "
        f"{'others: adapt':>13} {'refit':>6} | {'auto prec: adapt':>16} {'refit':>6}"
    )
    rng = np.random.default_rng(0)
    for source in args.refit_sources:
        rows = np.flatnonzero(bench.source == source)
        others = np.flatnonzero(bench.source != source)
        randoms = [rng.permutation(rows) for _ in range(args.random)]
        orders = (("queue", [bench.queue(rows)]), ("random", randoms))
        base_o = bench.accuracy(bench.base, others)
        for k in [k for k in args.ks if len(rows) - k >= args.min_rest]:
            for name, runs in orders:
                for weight in args.weights:
                    cells = []
                    for order in runs:  # averaged over the random orders
                        corr, rest = order[:k], order[k:]
                        adapted = bench.adapt(corr, weight)
                        refit = bench.adapt(corr, AdaptOptions(method="refit", weight=weight), tf)
                        cells.append(
                            [bench.accuracy(bench.base, rest)]
                            + [bench.accuracy(m, rest) for m in (adapted, refit)]
                            + [bench.accuracy(m, others) - base_o for m in (adapted, refit)]
                            + [bench.auto_band(m, rest)[0] for m in (adapted, refit)]
                        )
                    m = np.nanmean(np.array(cells), axis=0)
                    print(
                        f"{source[:10]:<10} {k:>3} {name:<7} {weight:>3g} {m[0]:>6.3f} "
                        f"{m[1]:>6.3f} {m[2]:>6.3f} | {100 * m[3]:>+13.1f} {100 * m[4]:>+6.1f} | "
                        f"{m[5]:>16.3f} {m[6]:>6.3f}",
                        flush=True,
                    )


def encode_training(base, files: list[str], out: Path) -> None:  # noqa: ANN001
    """Encode the base's training postings (``split=train`` rows, as ``train`` read them) into
    ``out`` (.npz: titled, plain, y) for ``--train-features``."""
    from role_classifier.training import load_training_data

    data = load_training_data(files, base.taxonomy, filters={"split": ["train"]}, on_warning=print)
    titled, plain = correction_features(base, base.encode(data.postings, show_progress=True))
    y = np.array([base.labels.index(label) for label in data.labels])
    TrainingFeatures(titled, plain, y, np.array(data.sources)).save(out)
    print(f"{out}: {len(y)} training postings, {out.stat().st_size / 1e6:.1f} MB")


def _timing(bench: Bench, per_posting: float, weight: float) -> None:
    rng = np.random.default_rng(1)
    print("\nadapt's time on this machine (2 shared cores):")
    for n in (100, 1000):
        rows = rng.choice(len(bench.y), size=n, replace=n > len(bench.y))
        start = time.perf_counter()
        bench.adapt(rows, weight)
        fit = time.perf_counter() - start
        print(
            f"  {n:>5} corrections: refit {fit:.1f} s (head, 5 out-of-fold refits, temperatures, "
            f"review band) + encoding {n * per_posting:.0f} s ({per_posting:.2f} s a posting, "
            f"measured) = {fit + n * per_posting:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="labelled files with a source column")
    parser.add_argument("--model", default="default")
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--weights", type=float, nargs="+", default=[AdaptOptions().weight])
    parser.add_argument("--random", type=int, default=3, help="random orders averaged")
    parser.add_argument("--min-rest", type=int, default=15, help="postings left to score, least")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench_adapt"))
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-curve", action="store_true")
    parser.add_argument(
        "--train-features",
        type=Path,
        help="an .npz of the base's training features (titled, plain, y): also compare with "
        "refitting on them plus the corrections",
    )
    parser.add_argument("--refit-sources", nargs="+", default=["feed", "remotewlb"])
    parser.add_argument(
        "--pool-sources",
        nargs="+",
        help="instead of the per-source curve: corrections from these sources' part=pool rows, "
        "scored on their part=held rows, the rest of the pool and the other sources' held rows",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["anchored weight=1"],
        help='with --pool-sources: "METHOD FIELD=VALUE ..." of AdaptOptions each, e.g. '
        '"anchored weight=5" "refit share=0.5" (refit needs --train-features)',
    )
    parser.add_argument("--same-board", nargs="+", default=["feed", "remotewlb"])
    parser.add_argument("--jsonl", help="with --pool-sources: append every run here")
    parser.add_argument(
        "--encode-training",
        nargs="+",
        metavar="FILE",
        help="instead: encode the base's training files into --train-features and stop",
    )
    args = parser.parse_args()
    base = load_classifier(args.model)
    if args.encode_training:
        encode_training(base, args.encode_training, args.train_features)
        return
    rows = _rows(args.files)
    if not rows or "source" not in rows[0]:
        sys.exit("the files need rows with source, title, description and label columns")
    titled, plain, per_posting = _features(base, rows, args.cache)
    bench = Bench(base, rows, titled, plain)
    print(f"{len(rows)} labelled postings, {len(set(bench.source))} sources, model {args.model}\n")
    if args.pool_sources:
        training = None
        if args.train_features is not None:
            training = TrainingFeatures.load(args.train_features)
        _pool_curve(bench, args, training)
        return
    if not args.no_curve:
        _curve(bench, args)
    if args.train_features is not None:
        _compare_refit(bench, args)
    if not args.no_timing:
        _timing(bench, per_posting, args.weights[0])


if __name__ == "__main__":
    main()
