"""Role shares on synthetic data: a simulated calibrated classifier, no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from role_classifier import shares
from role_classifier.shares import (
    METHODS,
    SCORE_PREFIX,
    HeldOut,
    SharesInputError,
    bootstrap_shares,
    estimate_shares,
    plot_shares,
    read_scores,
)

LABELS = (
    "ML Researcher",
    "ML Engineer",
    "MLOps Engineer",
    "Prompt Engineer",
    "AI Engineer",
    "AIOps Engineer",
    "AI Agent Engineer",
    "Other",
)
K = len(LABELS)
TRAIN_PRIOR = np.array([0.05, 0.23, 0.09, 0.04, 0.08, 0.05, 0.06, 0.40])
SHIFTED = np.array([0.02, 0.75, 0.03, 0.01, 0.05, 0.01, 0.01, 0.12])  # mostly ML Engineer


def posteriors(y: np.ndarray, rng: np.random.Generator, separation: float) -> np.ndarray:
    """Exact posteriors under the training prior of a Gaussian class model: the scores of a
    perfectly calibrated classifier trained on the training mix, for postings of classes y."""
    z = rng.normal(size=(len(y), K))
    z[np.arange(len(y)), y] += separation
    log_p = separation * z + np.log(TRAIN_PRIOR)
    p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def held() -> HeldOut:
    """Out-of-fold rows of the training mix, each posting once with a title (sharper scores)
    and once without."""
    rng = np.random.default_rng(0)
    y = rng.choice(K, size=3000, p=TRAIN_PRIOR)
    proba = np.vstack([posteriors(y, rng, 3.0), posteriors(y, rng, 2.0)])
    titled = np.r_[np.ones(3000, bool), np.zeros(3000, bool)]
    return HeldOut(proba, np.r_[y, y], titled, LABELS)


def feed(n: int, prior: np.ndarray, seed: int, separation: float = 2.0) -> tuple:
    rng = np.random.default_rng(seed)
    y = rng.choice(K, size=n, p=prior)
    return posteriors(y, rng, separation), np.bincount(y, minlength=K) / n


def frame(proba: np.ndarray, **columns) -> pd.DataFrame:
    out = pd.DataFrame(proba, columns=[SCORE_PREFIX + label for label in LABELS])
    out.insert(0, "description", "some text")
    out["predicted_role"] = [LABELS[i] for i in proba.argmax(axis=1)]
    out["error"] = ""
    for name, values in columns.items():
        out[name] = values
    return out


# -- the methods -------------------------------------------------------------------------------
def test_adjusted_methods_recover_shares_under_prior_shift(held: HeldOut) -> None:
    proba, truth = feed(20_000, SHIFTED, seed=1)
    errors = {m: np.abs(getattr(shares, m)(proba, held, False) - truth).mean() for m in METHODS}
    adjusted = max(errors["acc"], errors["pacc"], errors["em"])
    assert adjusted < 0.015, errors  # acc and pacc carry the noise of a 3,000-row confusion
    # counting is biased under the shift: it keeps the training mix's errors
    assert min(errors["cc"], errors["pcc"]) > 2 * adjusted, errors
    estimate = shares.em(proba, held)
    assert estimate.sum() == pytest.approx(1) and (estimate >= 0).all()


def test_probabilistic_count_is_unbiased_without_shift(held: HeldOut) -> None:
    proba, truth = feed(20_000, TRAIN_PRIOR, seed=2)
    assert np.abs(shares.pcc(proba) - truth).max() < 0.01
    decided = np.bincount(proba.argmax(axis=1), minlength=K) / len(proba)
    np.testing.assert_allclose(shares.cc(proba), decided)


def test_titled_rows_use_the_titled_confusion(held: HeldOut) -> None:
    proba, truth = feed(20_000, SHIFTED, seed=3, separation=3.0)
    right = shares.acc(proba, held, titled=True)
    wrong = shares.acc(proba, held, titled=False)
    assert np.abs(right - truth).mean() < 0.005 < 0.02 < np.abs(wrong - truth).mean()


@pytest.mark.parametrize("method", ["acc", "pacc", "em"])
def test_intervals_cover(held: HeldOut, method: str) -> None:
    hits = []
    for seed in range(20):
        proba, truth = feed(400, SHIFTED, seed=100 + seed)
        _, low, high = bootstrap_shares(proba, method, held, False, n_boot=60, seed=seed)
        hits.append((low <= truth + 1e-12) & (truth - 1e-12 <= high))
    assert np.mean(hits) >= 0.8


def test_shift_interval_spans_counting_and_em(held: HeldOut) -> None:
    """Under a prior shift cc's sampling interval misses (it keeps the training mix's errors);
    the shift interval is the hull of cc's and em's, so it holds the truth and contains both."""
    proba, truth = feed(2000, SHIFTED, seed=5)
    share, low, high = bootstrap_shares(proba, "cc", held, n_boot=80, seed=1)
    assert not ((low <= truth) & (truth <= high)).all()
    s_share, s_low, s_high = bootstrap_shares(
        proba, "cc", held, n_boot=80, seed=1, interval="shift"
    )
    np.testing.assert_array_equal(s_share, share)  # the point estimate is the method's
    _, em_low, em_high = bootstrap_shares(proba, "em", held, n_boot=80, seed=1)
    np.testing.assert_allclose(s_low, np.minimum(low, em_low))
    np.testing.assert_allclose(s_high, np.maximum(high, em_high))
    assert ((s_low <= truth + 1e-9) & (truth - 1e-9 <= s_high)).all()


def test_shift_interval_needs_held_out_and_a_known_name(held: HeldOut) -> None:
    proba, _ = feed(100, SHIFTED, seed=6)
    with pytest.raises(SharesInputError, match="held-out"):
        bootstrap_shares(proba, "cc", None, interval="shift")
    with pytest.raises(SharesInputError, match="unknown interval 'wide'"):
        bootstrap_shares(proba, "cc", held, interval="wide")
    with pytest.raises(SharesInputError, match="unknown interval 'wide'"):
        estimate_shares(frame(proba), held_out=held, interval="wide")


def test_estimate_names_its_interval(held: HeldOut) -> None:
    proba, _ = feed(200, SHIFTED, seed=8)
    df = estimate_shares(frame(proba), held_out=held, n_boot=20)
    assert df.attrs["interval"] == "shift" and set(df["interval"]) == {"shift"}
    plain = estimate_shares(frame(proba), held_out=held, n_boot=20, interval="sampling")
    assert set(plain["interval"]) == {"sampling"}
    assert (df["high"] - df["low"] >= plain["high"] - plain["low"] - 1e-12).all()


def test_bootstrap_is_seeded_and_ordered(held: HeldOut) -> None:
    proba, _ = feed(300, SHIFTED, seed=4)
    a = bootstrap_shares(proba, "em", held, n_boot=50, seed=7)
    b = bootstrap_shares(proba, "em", held, n_boot=50, seed=7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    share, low, high = a
    assert (low <= share).all() and (share <= high).all()


def test_held_out_round_trip(held: HeldOut, tmp_path: Path) -> None:
    path = held.save(tmp_path)
    assert path.name == "held_out.safetensors"
    loaded = HeldOut.load(tmp_path)
    np.testing.assert_allclose(loaded.proba, held.proba, atol=1e-6)
    np.testing.assert_array_equal(loaded.y, held.y)
    np.testing.assert_array_equal(loaded.titled, held.titled)
    assert loaded.labels == LABELS
    with pytest.raises(FileNotFoundError, match="no held-out"):
        HeldOut.load(tmp_path / "elsewhere")


# -- estimate_shares ---------------------------------------------------------------------------
def test_groups_periods_and_counts(held: HeldOut) -> None:
    proba, _ = feed(600, SHIFTED, seed=5)
    months = np.array(["2024-01", "2024-02-15", "2024-03-01T10:00:00Z"] * 200, dtype=object)
    months[:3] = ["soon", "", None]
    df = frame(proba, board=["a", "b"] * 300, posted=months)
    df.loc[3:5, "error"] = "empty text"
    df.loc[3:5, [SCORE_PREFIX + label for label in LABELS]] = np.nan
    df.loc[6, "error"] = "warning: a title and no text"
    df.loc[7, "board"] = None
    out = estimate_shares(
        df, by="board", date_column="posted", method="em", held_out=held, n_boot=50
    )
    assert out.attrs["error_rows"] == 3 and out.attrs["undated_rows"] == 3
    assert out.attrs["used_rows"] == 597 and out.attrs["rows"] == 600
    assert list(out.columns) == [
        "board", "period", "role", "share", "low", "high", "n", "method", "interval", "note",
    ]  # fmt: skip
    assert set(out["period"]) == {"2024-01", "2024-02", "2024-03", "undated"}
    assert out.groupby(["board", "period"])["n"].first().sum() == 597
    assert set(out["board"]) == {"a", "b", "(missing)"}
    one = out[out["board"] == "(missing)"]
    assert (one["n"] == 1).all() and one["note"].str.startswith("too few postings").all()
    assert one["share"].sum() == pytest.approx(1)
    assert list(out["role"][:K]) == list(LABELS)
    sums = out.groupby(["board", "period"])["share"].sum()
    np.testing.assert_allclose(sums, 1, atol=1e-9)
    quarters = estimate_shares(df, date_column="posted", period="quarter", method="cc", n_boot=0)
    assert set(quarters["period"]) == {"2024Q1", "undated"}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_reads_csv_jsonl_and_parquet(held: HeldOut, tmp_path: Path, suffix: str) -> None:
    proba, _ = feed(200, SHIFTED, seed=6)
    df = frame(np.round(proba, 4), country=["NA", "DE"] * 100)  # 'NA' is Namibia, not missing
    df.loc[0, "error"] = "row has 3 cells, header has 2"
    df.loc[0, [SCORE_PREFIX + label for label in LABELS]] = np.nan
    path = tmp_path / f"labelled{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    else:
        df.to_parquet(path)
    read = read_scores(path, ["country"])
    assert "description" not in read.columns and len(read) == 200
    out = estimate_shares(path, by="country", held_out=held, n_boot=20)
    expected = estimate_shares(df, by="country", held_out=held, n_boot=20)
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert set(out["country"]) == {"NA", "DE"} and out.attrs["error_rows"] == 1


def test_bad_inputs_are_one_line_value_errors(held: HeldOut, tmp_path: Path) -> None:
    proba, _ = feed(50, SHIFTED, seed=8)
    df = frame(proba)
    cases = [
        (lambda: estimate_shares(df, by="country", held_out=held), "no column 'country'"),
        (lambda: estimate_shares(df[["description", "error"]], held_out=held), "--all-scores"),
        (
            lambda: estimate_shares(df.drop(columns=SCORE_PREFIX + "Other"), held_out=held),
            "another model or taxonomy",
        ),
        (
            lambda: estimate_shares(df.assign(**{SCORE_PREFIX + "Other": 3.0}), held_out=held),
            "not probabilities",
        ),
        (lambda: estimate_shares(df, period="month", held_out=held), "needs a date_column"),
        (lambda: estimate_shares(df, method="mean", held_out=held), "unknown method"),
        (lambda: estimate_shares(df, held_out=tmp_path, method="em"), "no held_out.safetensors"),
        (lambda: estimate_shares(tmp_path / "x.txt", held_out=held), "unknown extension"),
        (
            lambda: estimate_shares(df.assign(error="empty text"), held_out=held),
            "all 50 rows are error rows",
        ),
    ]
    for call, needle in cases:
        with pytest.raises(SharesInputError, match=needle) as info:
            call()
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_counting_needs_no_held_out(tmp_path: Path) -> None:
    proba, _ = feed(100, SHIFTED, seed=9)
    out = estimate_shares(frame(proba), method="pcc", held_out=None, n_boot=20)
    np.testing.assert_allclose(out["share"], proba.mean(axis=0))
    assert (out["period"] == "all").all() and (out["method"] == "pcc").all()


def test_plots_are_written(held: HeldOut, tmp_path: Path) -> None:
    proba, _ = feed(400, SHIFTED, seed=10)
    months = [f"2024-{m:02d}" for m in range(1, 9)] * 50
    df = frame(proba, board=["a", "b"] * 200, posted=months)
    df.loc[0, "posted"] = "later"
    trend = estimate_shares(df, by="board", date_column="posted", held_out=held, n_boot=20)
    single = estimate_shares(df, held_out=held, n_boot=20)
    for out, name in ((trend, "trend.png"), (single, "single.png")):
        path = plot_shares(out, tmp_path / name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_model_saves_and_loads_its_held_out(tiny_trained, held: HeldOut, tmp_path: Path) -> None:
    from role_classifier import RoleClassifier

    assert tiny_trained.held_out is None
    tiny_trained.held_out = held
    try:
        tiny_trained.save_pretrained(tmp_path / "m")
    finally:
        tiny_trained.held_out = None
    loaded = RoleClassifier.from_pretrained(tmp_path / "m", backend="torch")
    np.testing.assert_array_equal(loaded.held_out.y, held.y)
    assert loaded.held_out.labels == LABELS
    assert estimate_shares(frame(held.proba[:40]), held_out=tmp_path / "m", n_boot=0)["n"][0] == 40


def test_training_keeps_the_out_of_fold_probabilities(tiny_config, tmp_path: Path) -> None:
    from role_classifier.taxonomy import load_taxonomy
    from role_classifier.text import Posting
    from role_classifier.training import LabeledData, TrainConfig, train

    texts = {
        "ML Engineer": "Train machine learning models in pytorch for production.",
        "AI Engineer": "Build rag with a vector database and llm apis.",
        "Other": "Nurse for the night shift; sales analyst dashboard sql.",
    }
    labels = [label for label in texts for _ in range(4)]
    postings = [Posting(f"{texts[lab]} Team {i}.", f"{lab} {i}") for i, lab in enumerate(labels)]
    data = LabeledData(postings, labels, ["t.csv"] * 12, [str(i) for i in range(12)])
    clf = train(data, TrainConfig(window_tokens=32), load_taxonomy(), tiny_config.backbone)
    held = clf.held_out
    assert held is not None and len(held) == 24 and held.titled.sum() == 12
    assert sorted(held.y[:12].tolist()) == sorted(clf.labels.index(lab) for lab in labels)
    np.testing.assert_allclose(held.proba.sum(axis=1), 1)
    clf.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "held_out.safetensors").is_file()
