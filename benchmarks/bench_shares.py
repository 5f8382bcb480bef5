"""Which share estimator should be the default? Accuracy per source, and interval coverage.

Run from the repository root with a model folder that holds ``held_out.safetensors`` (a model
trained by this version; the shipped default has one):

    .venv/bin/python benchmarks/bench_shares.py --model src/role_classifier/default_model

    role-classifier train data/samples/postings.csv ../shared/data/real-postings/postings.csv \\
        --filter split=train --output /tmp/shares-model --overwrite            # ~2 min
    .venv/bin/python benchmarks/bench_shares.py --model /tmp/shares-model        # ~2 min + 1st run
    .venv/bin/python benchmarks/bench_shares.py --model /tmp/shares-model --compare-default

On the real postings' ``split=test`` rows (four sources with very different role mixes, three
never trained on), description only and title + description, it prints:

1. per source, the mean absolute error over the roles of each method's shares against the
   ``title_label`` shares, side by side, with the mean over sources and its ratio to CC's;
2. interval coverage by simulation (the artificial-prevalence protocol): ``--samples`` samples
   of 100-500 test postings each, with role prevalences drawn uniformly from the simplex
   (Dirichlet(1) over the roles), postings drawn per role with replacement; per method and role,
   the share of samples whose nominal 90% bootstrap interval holds the sample's true share, the
   mean interval width, and the methods' mean absolute error on these samples;
3. which method meets the targets: description-only MAE <= 0.02 averaged over sources and
   <= 0.5 x CC's, with titles no worse than CC, coverage >= 85% for every role the simulation
   draws (roles it never draws have share 0 and are covered trivially).

The model's probabilities of the test rows are cached under ``/tmp`` (keyed by the model's
files and the rows), so reruns take a minute or two. ``--compare-default`` also scores the rows
with the shipped default head (same encodings) and prints how far the two heads are apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from role_classifier.shares import METHODS, HeldOut, bootstrap_shares, shift_interval

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "real-postings" / "postings.csv"
VIEWS = ("description only", "title + description")
TARGET_MAE, TARGET_RATIO, TARGET_COVERAGE = 0.02, 0.5, 0.85


def _key(model: Path, ids: list[str], extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    for name in ("config.json", "head.safetensors"):
        digest.update((model / name).read_bytes())
    digest.update("\n".join(ids).encode())
    return digest.hexdigest()[:16]


def test_probabilities(model: Path, test: pd.DataFrame, compare_default: bool) -> dict:
    """Probabilities of the test rows per view (and the shipped default's), cached in /tmp."""
    ids = test["id"].astype(str).tolist()
    cache = Path("/tmp") / f"bench_shares_{_key(model, ids, str(compare_default))}.npz"
    if cache.is_file():
        print(f"probabilities from the cache {cache}", file=sys.stderr)
        return dict(np.load(cache))
    from role_classifier import Posting, RoleClassifier

    clf = RoleClassifier.from_pretrained(model)
    postings = [Posting(description=d, title=t) for d, t in zip(test["description"], test["title"])]
    start = time.perf_counter()
    print(f"encoding {len(postings)} test postings", file=sys.stderr)
    # encoded once; the description-only view drops the title (and its words) exactly as
    # predict_proba(descriptions) without titles sees them (checked below on a few rows)
    encoded = clf.encode(postings, show_progress=True)
    plain = [dataclasses.replace(e, title=None) for e in encoded]
    out = {"title + description": clf.proba_from_encoded(encoded)}
    out["description only"] = clf.proba_from_encoded(plain)
    check = clf.predict_proba(list(test["description"][:4]))
    assert np.allclose(check, out["description only"][:4], atol=1e-5), "views disagree"
    if compare_default:
        default = RoleClassifier.from_pretrained("default")
        default.share_encoder(clf)
        out["default title + description"] = default.proba_from_encoded(encoded)
        out["default description only"] = default.proba_from_encoded(plain)
    print(f"encoded in {time.perf_counter() - start:.0f}s; cached in {cache}", file=sys.stderr)
    np.savez(cache, **out)
    return out


def true_shares(y: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y, minlength=k) / len(y)


def per_source_table(
    test: pd.DataFrame, proba: np.ndarray, y: np.ndarray, held: HeldOut, titled: bool
) -> pd.DataFrame:
    """MAE over the roles of each method's shares, per source, plus the mean over sources."""
    k = len(held.labels)
    rows = {}
    for source, index in test.groupby("source_repo", sort=True).indices.items():
        truth = true_shares(y[index], k)
        rows[f"{source} (n={len(index)})"] = {
            m: float(
                np.abs(bootstrap_shares(proba[index], m, held, titled, n_boot=0)[0] - truth).mean()
            )
            for m in METHODS
        }
    table = pd.DataFrame(rows).T[list(METHODS)]
    table.loc["mean over sources"] = table.mean()
    table.loc["mean / CC's"] = table.loc["mean over sources"] / table.loc["mean over sources", "cc"]
    return table


def coverage_tables(
    proba: np.ndarray,
    y: np.ndarray,
    held: HeldOut,
    titled: bool,
    samples: int,
    n_boot: int,
    seed: int,
    min_postings: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Artificial-prevalence protocol: per method and role, coverage of the nominal 90%
    interval and its mean width; and each method's MAE on the samples. Roles with fewer than
    ``min_postings`` distinct postings in the pool keep prevalence 0 (a share drawn from one
    to three postings copied many times measures those postings, not the method)."""
    k = len(held.labels)
    rng = np.random.default_rng(seed)
    by_role = [np.flatnonzero(y == r) for r in range(k)]
    present = [r for r in range(k) if len(by_role[r]) >= min_postings]
    kinds = [*METHODS, *(f"{m}+shift" for m in METHODS)]
    hits = {m: np.zeros(k) for m in kinds}
    width = {m: np.zeros(k) for m in kinds}
    error = {m: 0.0 for m in kinds}
    for s in range(samples):
        n = int(rng.integers(100, 501))
        prevalence = np.zeros(k)
        prevalence[present] = rng.dirichlet(np.ones(len(present)))
        counts = rng.multinomial(n, prevalence)
        index = np.concatenate([rng.choice(by_role[r], size=c) for r, c in enumerate(counts) if c])
        truth = counts / n
        found = {
            m: bootstrap_shares(proba[index], m, held, titled, n_boot=n_boot, seed=[seed, s])
            for m in METHODS
        }
        for m in METHODS:  # interval="shift", from the same replicates
            found[f"{m}+shift"] = shift_interval(found, m)
        for m, (share, low, high) in found.items():
            hits[m] += (low <= truth + 1e-12) & (truth - 1e-12 <= high)
            width[m] += high - low
            error[m] += float(np.abs(share - truth).mean())
    labels = list(held.labels)
    coverage = pd.DataFrame({m: hits[m] / samples for m in kinds}, index=labels)
    widths = pd.DataFrame({m: width[m] / samples for m in kinds}, index=labels)
    return coverage, widths, pd.Series({m: error[m] / samples for m in kinds})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("/tmp/shares-model"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--samples", type=int, default=300, help="simulated samples per view")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-default", action="store_true")
    parser.add_argument(
        "--min-role-postings",
        type=int,
        default=10,
        help="roles with fewer distinct test postings keep prevalence 0 in the simulation",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="also the simulation inside the training distribution: half of the held-out rows "
        "calibrate, the other half are the pool",
    )
    args = parser.parse_args()

    held = HeldOut.load(args.model)
    data = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    test = data[data["split"] == "test"].reset_index(drop=True)
    index = {label: i for i, label in enumerate(held.labels)}
    y = test["title_label"].map(index).to_numpy()
    probabilities = test_probabilities(args.model, test, args.compare_default)
    pd.set_option("display.width", 200)
    fmt = "{:.4f}".format

    print(f"model {args.model}; held-out rows: {len(held)} ({int(held.titled.sum())} with a title)")
    print(f"test rows: {len(test)}; training prior (held-out label mix):")
    print("  " + ", ".join(f"{lab} {p:.3f}" for lab, p in zip(held.labels, held.prior())))
    if args.compare_default:
        for view in VIEWS:
            a, b = probabilities[view], probabilities[f"default {view}"]
            agree = float((a.argmax(1) == b.argmax(1)).mean())
            print(
                f"{view}: this model vs the shipped default head: same decision on "
                f"{agree:.1%} of test rows, max |p - p_default| {np.abs(a - b).max():.4f}"
            )

    results = {}
    sampled = [lab for r, lab in enumerate(held.labels) if (y == r).sum() >= args.min_role_postings]
    print(
        f"simulated samples draw {', '.join(sampled)} (>= {args.min_role_postings} test postings)"
    )
    for view in VIEWS:
        titled = view != "description only"
        proba = probabilities[view]
        print(f"\n== {view}: MAE of the role shares per source (mean |estimate - true| over roles)")
        table = per_source_table(test, proba, y, held, titled)
        print(table.to_string(float_format=fmt))
        start = time.perf_counter()
        coverage, widths, app_mae = coverage_tables(
            proba, y, held, titled, args.samples, args.n_boot, args.seed, args.min_role_postings
        )
        print(
            f"\n== {view}: coverage of the nominal 90% intervals, {args.samples} samples of "
            f"100-500 postings, prevalences uniform on the simplex, {args.n_boot} bootstrap "
            f"replicates ({time.perf_counter() - start:.0f}s)"
        )
        print(coverage.to_string(float_format="{:.1%}".format))
        print("\nmean interval width")
        print(widths.to_string(float_format=fmt))
        print("\nMAE on the simulated samples")
        print(app_mae.to_frame("mae").T.to_string(float_format=fmt))
        results[view] = (table, coverage)

    if args.control:
        rng = np.random.default_rng(args.seed)
        for view in VIEWS:
            titled = view != "description only"
            rows = rng.permutation(np.flatnonzero(held.titled == titled))
            calib, pool = rows[: len(rows) // 2], rows[len(rows) // 2 :]
            half = HeldOut(held.proba[calib], held.y[calib], held.titled[calib], held.labels)
            start = time.perf_counter()
            coverage, widths, app_mae = coverage_tables(
                held.proba[pool], held.y[pool], half, titled, args.samples, args.n_boot,
                args.seed, args.min_role_postings,
            )  # fmt: skip
            print(
                f"\n== control, {view}: the same simulation inside the training distribution "
                f"(pool: {len(pool)} held-out rows, calibrated on the other {len(calib)}; "
                f"{time.perf_counter() - start:.0f}s): coverage"
            )
            print(coverage.to_string(float_format="{:.1%}".format))
            print("\nmean interval width")
            print(widths.to_string(float_format=fmt))
            print("\nMAE on the simulated samples")
            print(app_mae.to_frame("mae").T.to_string(float_format=fmt))

    print("\n== targets: description-only MAE <= 0.02 over sources and <= 0.5 x CC's; with")
    print("   titles no worse than CC; coverage >= 85% for every role in both views")
    plain, titled_table = results["description only"][0], results["title + description"][0]
    for m in METHODS:
        mae = plain.loc["mean over sources", m]
        ratio = plain.loc["mean / CC's", m]
        with_titles = titled_table.loc["mean over sources", m]
        cc_titles = titled_table.loc["mean over sources", "cc"]
        drawn = [lab in sampled for lab in held.labels]
        worst = min(results[v][1][m][drawn].min() for v in VIEWS)
        worst_shift = min(results[v][1][f"{m}+shift"][drawn].min() for v in VIEWS)
        checks = [
            f"MAE {mae:.4f} {'ok' if mae <= TARGET_MAE else 'MISS'}",
            f"x CC {ratio:.2f} {'ok' if ratio <= TARGET_RATIO else 'MISS'}",
            f"titles {with_titles:.4f} vs CC {cc_titles:.4f} "
            f"{'ok' if with_titles <= cc_titles + 1e-12 else 'MISS'}",
            f"worst coverage {worst:.1%} {'ok' if worst >= TARGET_COVERAGE else 'MISS'}",
            f"with interval=shift {worst_shift:.1%} "
            f"{'ok' if worst_shift >= TARGET_COVERAGE else 'MISS'}",
        ]
        print(f"{m:>5}: " + "; ".join(checks))


if __name__ == "__main__":
    main()
