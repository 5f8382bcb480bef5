"""What does adapting teach on a whole feed? Random splits of one source's read postings.

``bench_adapt.py`` scores a fixed held-out set (the feed's 103 test postings: a posting is a
point). Here every read posting of one source is split at random, ``--splits`` times, into a
held part (``--held-share``, scored only) and a pool the corrections come from: the first k of
the pool in queue order (``role-classifier review``'s) and in ``--random`` random orders. Each
(k, method) line averages every split and order: the held part's accuracy gained with titles and
from descriptions alone (points), the other sources' mean change (their ``part=held`` rows),
and the ``auto`` band on the held part at each ``--z`` (the Wilson bound the band is judged by,
:attr:`AdaptOptions.review_z`; accuracy does not depend on it):

    .venv/bin/python benchmarks/bench_adapt_splits.py /tmp/adapt/data/bench_pool.csv \\
        --model /tmp/adapt/base-noboard --train-features /tmp/adapt/train_noboard.npz \\
        --cache /tmp/adapt/cache --source feed --methods "refit weight=1" "anchored weight=1"

Two probes of what the head sees, not options of ``adapt`` (they patch its settings here):
``score_scale=S`` gives the six zero-shot score blocks S times the freedom of the embeddings in
the refit (both embedding scales divided by S, ``c`` times S squared), and ``bias_penalty=L``
adds one more step after the refit: a bias per role fitted on the corrections' out-of-fold
scores (an L2 penalty L), the label-shift correction of Alexandari et al. (2020).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_adapt  # noqa: E402

import role_classifier.modeling.adapt as adapt_module  # noqa: E402
from role_classifier.modeling.adapt import TrainingFeatures, review_thresholds  # noqa: E402
from role_classifier.modeling.head import review_band  # noqa: E402
from role_classifier.modeling.loading import load_classifier  # noqa: E402

PROBES = {"score_scale": 1.0, "bias_penalty": None}
_settings_of = adapt_module._HeadSettings.of.__func__
_recalibrate = adapt_module._recalibrate


def _probed_settings(cls, base, options):  # noqa: ANN001, ANN202
    out = _settings_of(cls, base, options)
    s = PROBES["score_scale"]
    out.title_embedding_scale /= s
    out.embedding_scale /= s
    out.c *= s * s
    return out


def _offset_fit(x, offset: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:  # noqa: ANN001
    """``W`` (labels x columns of ``x``) of a multinomial logistic regression whose logits are
    ``offset + x @ W.T``, L2 penalty ``lam``: the two probes' one fit (the bias probe's ``x`` is a
    column of ones)."""
    from scipy.optimize import minimize

    n_labels = offset.shape[1]
    onehot = np.eye(n_labels)[y]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = offset + x @ w.reshape(n_labels, -1).T
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        grad = np.asarray(x.T @ (np.exp(logp) - onehot)).T.ravel() + lam * w
        return float(-(onehot * logp).sum() + 0.5 * lam * w @ w), grad

    w0 = np.zeros(n_labels * x.shape[1])
    return minimize(loss, w0, jac=True, method="L-BFGS-B").x.reshape(n_labels, -1)


def _probed_recalibrate(base, adapted, oof, options):  # noqa: ANN001, ANN202
    """``adapt``'s recalibration, after the bias probe; keeps the out-of-fold rows for --z."""
    lam = PROBES["bias_penalty"]
    if lam is not None:
        b = _offset_fit(np.ones((len(oof.y), 1)), oof.logits, oof.y, lam)[:, 0]
        adapted.head = {**adapted.head, "bias": (adapted.head["bias"] + b).astype(np.float32)}
        oof.logits = oof.logits + b
    metrics = _recalibrate(base, adapted, oof, options)
    adapted.bench_oof = oof
    return metrics


adapt_module._HeadSettings.of = classmethod(_probed_settings)
adapt_module._recalibrate = _probed_recalibrate


def _spec(text: str):  # noqa: ANN202
    """``"refit weight=1 score_scale=2"``: AdaptOptions and the probes' values."""
    probes = {"score_scale": 1.0, "bias_penalty": None}
    rest = []
    for part in text.split():
        key, _, value = part.partition("=")
        if key in probes:
            probes[key] = float(value)
        else:
            rest.append(part)
    return bench_adapt._method(" ".join(rest))[1], probes


def _bands(bench: bench_adapt.Bench, model, held: np.ndarray, zs: list[float], options) -> dict:  # noqa: ANN001
    """The held part's ``auto`` precision and coverage with the band refitted at each z (by
    ``adapt``'s own rule, :func:`~role_classifier.modeling.adapt.review_thresholds`)."""
    oof = getattr(model, "bench_oof", None)
    out = {}
    if oof is None:
        return out
    proba_oof = model.proba_from_logits(oof.logits, oof.titled)
    pred_oof = model.decide(proba_oof)
    proba, y = bench.proba(model, held), bench.y[held]
    pred = model.decide(proba)
    for z in zs:
        at_z = dataclasses.replace(options, review_z=z)
        c, m, _ = review_thresholds(bench.base, proba_oof, pred_oof, oof.y, at_z)
        auto = review_band(proba, pred, c, m) == "auto"
        right = float((pred[auto] == y[auto]).mean()) if auto.any() else float("nan")
        out[f"{z:g}"] = (right, float(auto.mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--model", default="default")
    parser.add_argument("--source", required=True, help="the feed whose postings are split")
    parser.add_argument("--train-features", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench_adapt"))
    parser.add_argument("--ks", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--held-share", type=float, default=0.35)
    parser.add_argument("--random", type=int, default=2, help="random orders a split")
    parser.add_argument("--z", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5])
    parser.add_argument("--methods", nargs="+", default=["refit weight=1"])
    parser.add_argument("--jsonl", type=Path, help="append every run here")
    parser.add_argument(
        "--lexical",
        type=float,
        nargs="+",
        metavar="L2",
        help="instead: a probe of the words: a TF-IDF (title and text) residual fitted on the "
        "corrections on top of the base's or the refit's log-probabilities, at these penalties",
    )
    parser.add_argument(
        "--alone",
        action="store_true",
        help="instead: a plain logistic regression on k random pool postings alone (no "
        "training rows; C by 3-fold cross-validation), what the feed's own labels teach",
    )
    args = parser.parse_args()

    base = load_classifier(args.model)
    rows = bench_adapt._rows(args.files)
    titled, plain, _ = bench_adapt._features(base, rows, args.cache)
    bench = bench_adapt.Bench(base, rows, titled, plain)
    training = TrainingFeatures.load(args.train_features) if args.train_features else None
    part = np.array([r.get("part", "held") for r in rows])
    mine = np.flatnonzero(bench.source == args.source)
    others = {
        o: np.flatnonzero((bench.source == o) & (part == "held"))
        for o in sorted(set(bench.source) - {args.source})
    }
    before = {o: bench.accuracy(base, r) for o, r in others.items()}
    n_held = int(len(mine) * args.held_share)
    print(f"{args.source}: {len(mine)} postings, {n_held} held a split; model {args.model}")
    if args.alone:
        _alone(bench, mine, n_held, args)
        return
    if args.lexical:
        _lexical(bench, mine, n_held, args, training)
        return
    out = args.jsonl.open("a") if args.jsonl else None
    for text in args.methods:
        options, probes = _spec(text)
        PROBES.update(probes)
        runs = []
        for split in range(args.splits):
            held, orders = _split(bench, mine, n_held, split, args.random)
            for k in args.ks:
                for name, order in orders:
                    start = time.perf_counter()
                    model = bench.adapt(order[:k], options, training)
                    seconds = time.perf_counter() - start
                    delta = [bench.accuracy(model, r) - before[o] for o, r in others.items()]
                    run = {
                        "method": text,
                        "split": split,
                        "k": k,
                        "order": name,
                        "gain": bench.accuracy(model, held) - bench.accuracy(base, held),
                        "gain_plain": bench.accuracy(model, held, plain=True)
                        - bench.accuracy(base, held, plain=True),
                        "others": float(np.mean(delta)),
                        "others_worst": float(np.min(delta)),
                        "base_auto": bench.auto_band(base, held),
                        "bands": _bands(bench, model, held, args.z, options),
                        "seconds": seconds,
                    }
                    runs.append(run)
                    if out:
                        out.write(json.dumps(run) + "\n")
                        out.flush()
        _report(text, runs, args.ks, args.z)


def _split(
    bench: bench_adapt.Bench, mine: np.ndarray, n_held: int, split: int, n_random: int
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Split ``split`` (seeded): the held rows, and the pool in queue order and ``n_random``
    random orders."""
    rng = np.random.default_rng(100 + split)
    perm = rng.permutation(mine)
    held, pool = perm[:n_held], perm[n_held:]
    orders = [("queue", bench.queue(pool))]
    orders += [("random", rng.permutation(pool)) for _ in range(n_random)]
    return held, orders


def _alone(bench: bench_adapt.Bench, mine: np.ndarray, n_held: int, args) -> None:  # noqa: ANN001
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for k in args.ks:
        base, alone = [], []
        for split in range(args.splits):
            held, orders = _split(bench, mine, n_held, split, 1)
            corr = orders[1][1][:k]  # the first random order
            lr = make_pipeline(
                StandardScaler(),
                LogisticRegressionCV(Cs=[1e-3, 1e-2, 0.1, 1.0], cv=3, max_iter=3000),
            )
            lr.fit(bench.titled[corr], bench.y[corr])
            base.append(bench.accuracy(bench.base, held))
            alone.append(float((lr.predict(bench.titled[held]) == bench.y[held]).mean()))
        print(f"k={k}: the base {np.mean(base):.3f}, a head on the {k} alone {np.mean(alone):.3f}")


def _lexical(bench: bench_adapt.Bench, mine: np.ndarray, n_held: int, args, training) -> None:  # noqa: ANN001
    """Points gained on the held part by a word-level residual ``W`` (labels x TF-IDF terms, L2
    penalty), fitted on the corrections with the base's log-probabilities as a fixed offset and
    added to the base's or to the refit's (``refit weight=1``) log-probabilities."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{r.get('title', '')}\n{r['description']}" for r in bench.rows]

    def log_proba(model, rows: np.ndarray) -> np.ndarray:  # noqa: ANN001
        return np.log(np.clip(bench.proba(model, rows), 1e-9, 1.0))

    gains: dict[str, list[float]] = {}
    for split in range(args.splits):
        held, orders = _split(bench, mine, n_held, split, args.random)
        words = TfidfVectorizer(sublinear_tf=True, min_df=3, max_features=20000, ngram_range=(1, 2))
        words.fit([texts[i] for i in orders[0][1]])  # the pool's own text, no labels
        x_held = words.transform([texts[i] for i in held])
        base_lp, y = log_proba(bench.base, held), bench.y[held]

        def right(lp: np.ndarray) -> float:
            return float((lp.argmax(axis=1) == y).mean())  # noqa: B023

        for k in args.ks:
            for _name, order in orders:
                corr = order[:k]
                refit = bench.adapt(corr, bench_adapt._method("refit weight=1")[1], training)
                refit_lp = log_proba(refit, held)
                x_corr = words.transform([texts[i] for i in corr])
                cells = {f"k={k} refit": right(refit_lp)}
                for lam in args.lexical:
                    w = _offset_fit(x_corr, log_proba(bench.base, corr), bench.y[corr], lam)
                    cells[f"k={k} base + words (L2 {lam:g})"] = right(base_lp + x_held @ w.T)
                    cells[f"k={k} refit + words (L2 {lam:g})"] = right(refit_lp + x_held @ w.T)
                for name, acc in cells.items():
                    gains.setdefault(name, []).append(100 * (acc - right(base_lp)))
    for name, g in gains.items():
        print(f"{name:<32} {np.mean(g):+.1f} points ({len(g)} runs)")


def _report(text: str, runs: list[dict], ks: list[int], zs: list[float]) -> None:
    print(f"\n{text}")
    print(
        f"{'k':>8} {'runs':>4} {'gain':>6} {'desc':>6} {'others':>7} {'worst':>6} | "
        + " | ".join(f"z={z:g}: auto prec / cov" for z in zs)
    )
    groups = [[k] for k in ks] + ([[50, 100]] if {50, 100} <= set(ks) else [])
    for group in groups:
        sel = [r for r in runs if r["k"] in group]
        bands = " | ".join(
            f"{np.nanmean([r['bands'][f'{z:g}'][0] for r in sel if r['bands']]):>10.3f} / "
            f"{np.mean([r['bands'][f'{z:g}'][1] for r in sel if r['bands']]):.2f}"
            if any(r["bands"] for r in sel)
            else f"{'-':>17}"
            for z in zs
        )
        print(
            f"{'/'.join(map(str, group)):>8} {len(sel):>4} "
            f"{100 * np.mean([r['gain'] for r in sel]):>+6.1f} "
            f"{100 * np.mean([r['gain_plain'] for r in sel]):>+6.1f} "
            f"{100 * np.mean([r['others'] for r in sel]):>+7.1f} "
            f"{100 * np.min([r['others_worst'] for r in sel]):>+6.1f} | {bands}",
            flush=True,
        )


if __name__ == "__main__":
    main()
