"""The review band (one rule, fitted out of fold) and label-csv --all-scores."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.labelling import label_csv
from role_classifier.modeling.head import fit_review, review_band
from role_classifier.modeling.model import RoleClassifier
from role_classifier.shares import estimate_shares

ROWS = [
    ["1", "ML Engineer", "Train ranking models in pytorch and ship them."],
    ["2", "", "Run kubernetes model serving for our models in production."],
    ["3", "Nurse", "Night shifts at our clinic."],
    ["4", "", ""],
]


def _write(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "title", "description"], *ROWS])
    return path


def test_review_band_is_one_rule_of_confidence_and_margin() -> None:
    p = np.array([[0.96, 0.03, 0.01], [0.96, 0.02, 0.02], [0.5, 0.45, 0.05], [0.1, 0.1, 0.8]])
    assert review_band(p, np.array([0, 0, 0, 2]), 0.9, 0.5).tolist() == [
        "auto",
        "auto",
        "review",
        "review",
    ]


def test_fit_review_reaches_the_precision_and_keeps_the_most_rows() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.34, 1.0, 2000)
    proba = np.c_[conf, (1 - conf) * 0.6, (1 - conf) * 0.4]
    y = np.where(rng.uniform(size=2000) < conf, 0, 1)  # calibrated: right with prob. conf
    c, m, reached = fit_review(proba, np.zeros(2000, dtype=int), y, precision=0.95)
    auto = review_band(proba, np.zeros(2000, dtype=int), c, m) == "auto"
    assert (y[auto] == 0).mean() >= 0.95 and reached["precision"] >= 0.95
    assert 0.1 < auto.mean() < 0.6 and abs(reached["coverage"] - auto.mean()) < 1e-3


def test_fit_review_z_distrusts_a_band_shown_on_few_rows() -> None:
    """On 40 calibrated rows the observed precision picks a looser band than its Wilson lower
    bound does; on 20,000 rows the two agree to within a few points of coverage."""
    rng = np.random.default_rng(1)
    for n, most_apart in ((40, None), (20000, 0.05)):
        conf = rng.uniform(0.34, 1.0, n)
        proba = np.c_[conf, (1 - conf) * 0.6, (1 - conf) * 0.4]
        y = np.where(rng.uniform(size=n) < conf, 0, 1)
        labels = np.zeros(n, dtype=int)
        bands = {}
        for z in (0.0, 1.0):
            c, m, reached = fit_review(proba, labels, y, precision=0.9, z=z)
            auto = review_band(proba, labels, c, m) == "auto"
            assert abs(reached["coverage"] - auto.mean()) < 1e-3
            bands[z] = auto
        assert bands[1.0].sum() <= bands[0.0].sum()  # the bound is never above the observed
        if most_apart is None:
            assert bands[1.0].sum() < bands[0.0].sum()
        else:
            assert bands[0.0].mean() - bands[1.0].mean() < most_apart


def test_label_csv_writes_review_and_counts_it(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    clf = RoleClassifier(
        tiny_trained.taxonomy,
        dataclasses.replace(tiny_trained.config, review_confidence=0.0, review_margin=0.0),
        tiny_trained.head,
        encoder=tiny_trained.encoder,
        backend="torch",
    )
    out = tmp_path / "o.csv"
    s = label_csv(_write(tmp_path / "in.csv"), out, text_column="description", model=clf)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["review"] for r in rows] == ["auto", "auto", "auto", ""]  # the error row: none
    assert s.to_review == 0
    strict = RoleClassifier(
        clf.taxonomy,
        dataclasses.replace(clf.config, review_confidence=1.01),
        clf.head,
        encoder=clf.encoder,
        backend="torch",
    )
    s = label_csv(tmp_path / "in.csv", tmp_path / "p.csv", text_column="description", model=strict)
    assert s.to_review == 3


def test_all_scores_are_probabilities_in_parquet_and_feed_shares(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    out = tmp_path / "o.parquet"
    label_csv(
        _write(tmp_path / "in.csv"),
        out,
        text_column="description",
        title_column="title",
        all_scores=True,
        model=tiny_trained,
    )
    table = pq.read_table(out)
    score_cols = [f"score_{label}" for label in tiny_trained.labels]
    assert table.column_names[-len(score_cols) - 2 : -2] == score_cols
    scores = np.array([table.column(c).to_pylist() for c in score_cols], dtype=object).T
    assert all(v is None for v in scores[3])  # the empty row: null scores, an error
    ok = scores[:3].astype(float)
    assert np.allclose(ok.sum(axis=1), 1.0, atol=1e-3)
    predicted = table.column("predicted_role").to_pylist()[:3]
    assert [tiny_trained.labels[i] for i in ok.argmax(axis=1)] == predicted
    df = estimate_shares(out, n_boot=50)
    assert df.attrs["error_rows"] == 1 and df.attrs["used_rows"] == 3
    assert abs(df["share"].sum() - 1.0) < 1e-6


def test_shares_command_names_all_scores_when_scores_are_missing(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "o.csv"
    args = ["label-csv", str(_write(tmp_path / "in.csv")), str(out), "--text-column"]
    assert runner.invoke(app, [*args, "description", "-m", str(tiny_model_dir)]).exit_code == 0
    result = runner.invoke(app, ["shares", str(out)])
    assert result.exit_code == 2 and "--all-scores" in result.stderr
    assert result.stderr.count("\n") == 1
    out2 = tmp_path / "s.jsonl"
    args2 = [*args, "description", "-m", str(tiny_model_dir), "--all-scores"]
    args2[2] = str(out2)
    assert runner.invoke(app, args2).exit_code == 0
    result = runner.invoke(app, ["shares", str(out2), "--json", "--n-boot", "20"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["error_rows"] == 1 and len(body["shares"]) == 8
    result = runner.invoke(app, ["shares", str(out2), "--by", "nope"])
    assert result.exit_code == 2 and "nope" in result.stderr


def test_a_posting_not_in_english_is_classified_with_a_warning(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = tmp_path / "de.csv"
    german = (
        "Wir suchen eine erfahrene Ingenieurin für maschinelles Lernen in Berlin. Sie entwickeln "
        "und trainieren Modelle, arbeiten eng mit unserem Produktteam zusammen und bringen die "
        "Ergebnisse in die Produktion. Wir bieten ein flexibles Arbeitsumfeld und faire Bezahlung."
    )
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["description"], [german], [ROWS[0][2] * 3]])
    out = tmp_path / "o.csv"
    label_csv(src, out, text_column="description", model=tiny_trained)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert rows[0]["predicted_role"] and rows[0]["error"] == "warning: not English (de)"
    assert rows[1]["error"] == ""
