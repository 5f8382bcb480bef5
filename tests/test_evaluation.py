from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.data import DataError, LabelledRows, parse_filters, read_labelled_csv
from role_classifier.evaluation import (
    EvaluationError,
    advice,
    calibration_bins,
    compute_metrics,
    coverage_curve,
    evaluate,
    expected_calibration_error,
    label_hints,
    predict_rows,
    split_warnings,
)
from role_classifier.evaluation.baselines import TfidfBaseline
from role_classifier.taxonomy import load_taxonomy

LABELS = ["A", "B", "C", "Other"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Words the tiny test backbone knows, so its tokenizer sees real tokens.
WORDS = {
    "ML Engineer": "train machine learning models in pytorch for production pipelines",
    "AI Engineer": "build rag with llm apis and a vector database for our product",
    "MLOps Engineer": "deploy models on kubernetes serving and run the ml platform ops",
    "Other": "nurse sales analyst dashboard sql for our company with benefits",
}
SCHEMA_KEYS = {
    "review",
    "model",
    "n",
    "accuracy",
    "macro_f1",
    "weighted_f1",
    "ece",
    "top2_accuracy",
    "macro_f1_labels",
    "excluded_labels",
    "min_support",
    "per_label",
    "confusion",
    "calibration",
    "coverage",
    "unknown_labels",
    "rows",
    "errors",
    "ragged",
    "data",
    "seconds",
    "warnings",
}


def _write_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture()
def postings_csv(tmp_path: Path) -> Path:
    """A small synthetic labelled CSV with a split column, odd label casing and bad rows."""
    rng = np.random.default_rng(0)
    rows = []
    for split, per_label in (("train", 6), ("test", 4)):
        for label, text in WORDS.items():
            for k in range(per_label):
                words = text.split()
                rng.shuffle(words)
                rows.append(
                    {
                        "title": label if k % 2 else "",
                        "description": " ".join(words),
                        "role": label.lower() if k == 0 else label,  # "ml engineer" etc.
                        "split": split,
                    }
                )
    rows.append({"title": "", "description": "  <p></p> ", "role": "Other", "split": "test"})
    rows.append({"title": "", "description": "sql dashboard", "role": "", "split": "test"})
    rows.append(
        {"title": "x", "description": "sql analyst", "role": "Data Scientist", "split": "test"}
    )
    return _write_csv(tmp_path / "postings.csv", rows)


# -- metrics on hand-made data ---------------------------------------------------------------
def test_accuracy_and_macro_f1_exclude_roles_without_rows() -> None:
    y = ["A", "A", "B", "B", "Other"]
    proba = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],  # A right
            [0.1, 0.7, 0.1, 0.1],  # A -> B
            [0.1, 0.7, 0.1, 0.1],  # B right
            [0.1, 0.6, 0.2, 0.1],  # B right
            [0.1, 0.1, 0.1, 0.7],  # Other right
        ]
    )
    m = compute_metrics(y, proba, LABELS)
    assert m["n"] == 5
    assert m["accuracy"] == pytest.approx(0.8)
    # A: P=1 R=.5 F1=2/3; B: P=2/3 R=1 F1=.8; Other: 1. C has no rows and is left out.
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 1) / 3, abs=1e-6)
    assert m["macro_f1_labels"] == ["A", "B", "Other"]
    assert m["excluded_labels"] == ["C"]
    assert m["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 * 0.8 + 1) / 5, abs=1e-6)
    assert m["per_label"]["A"] == {"precision": 1.0, "recall": 0.5, "f1": 0.666667, "support": 2}
    assert m["per_label"]["C"]["support"] == 0
    assert m["confusion"]["labels"] == LABELS
    assert m["confusion"]["matrix"][0] == [1, 1, 0, 0]


def test_min_support_excludes_small_roles() -> None:
    y = ["A", "A", "B", "Other"]
    proba = np.eye(4)[[0, 0, 1, 3]] * 0.7 + 0.075
    m = compute_metrics(y, proba, LABELS, min_support=2)
    assert m["macro_f1_labels"] == ["A"]
    assert m["excluded_labels"] == ["B", "C", "Other"]


def test_predicted_overrides_argmax() -> None:
    proba = np.array([[0.6, 0.1, 0.1, 0.2], [0.1, 0.7, 0.1, 0.1]])
    m = compute_metrics(["Other", "B"], proba, LABELS, predicted=[3, 1])
    assert m["accuracy"] == 1.0


def test_ece_zero_when_perfectly_calibrated() -> None:
    # confidence 0.8 and 8 of 10 right: calibrated.
    assert expected_calibration_error([0.8] * 10, [True] * 8 + [False] * 2) == pytest.approx(0.0)
    y = ["A"] * 8 + ["B"] * 2
    proba = np.tile([0.8, 0.1, 0.05, 0.05], (10, 1))
    assert compute_metrics(y, proba, LABELS)["ece"] == pytest.approx(0.0, abs=1e-9)


def test_ece_of_overconfident_model() -> None:
    assert expected_calibration_error([0.99] * 4, [True, False, True, False]) == pytest.approx(0.49)
    # two bins: (0.95, half right) and (0.55, all right) -> (2*0.45 + 2*0.45) / 4
    ece = expected_calibration_error([0.95, 0.95, 0.55, 0.55], [True, False, True, True])
    assert ece == pytest.approx(0.45)


def test_calibration_bins_edges() -> None:
    bins = calibration_bins([0.0, 0.1, 0.15, 1.0], [True, False, True, True], n_bins=10)
    assert [b["count"] for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert bins[2]["accuracy"] is None and bins[0]["accuracy"] == 0.5


def test_top2_accuracy() -> None:
    proba = np.array(
        [
            [0.5, 0.3, 0.1, 0.1],  # true A: top-1
            [0.5, 0.3, 0.1, 0.1],  # true B: second
            [0.5, 0.3, 0.15, 0.05],  # true C: third
            [0.5, 0.3, 0.15, 0.05],  # true Other: last
        ]
    )
    m = compute_metrics(["A", "B", "C", "Other"], proba, LABELS)
    assert m["accuracy"] == 0.25
    assert m["top2_accuracy"] == 0.5


def test_coverage_threshold_reaching_target_precision() -> None:
    labels = ["A", "B", "Other"]
    y = np.array([0, 1, 0, 2, 2])
    proba = np.array(
        [
            [0.9, 0.05, 0.05],  # A right, best role 0.9
            [0.1, 0.8, 0.1],  # B right, 0.8
            [0.1, 0.6, 0.3],  # wrong (true A), 0.6
            [0.5, 0.2, 0.3],  # wrong (true Other), 0.5
            [0.1, 0.1, 0.8],  # Other by arg-max: never covered
        ]
    )
    cov = coverage_curve(y, proba, other_index=2, target_precision=0.9)
    assert cov["threshold"] == 0.8
    assert cov["coverage"] == pytest.approx(0.4)
    assert cov["precision"] == 1.0
    # at 0.8: rows 0, 1 right; rows 2 (A) -> Other wrong; 3 -> Other right; 4 right
    assert cov["accuracy"] == pytest.approx(0.8)
    assert [p["threshold"] for p in cov["points"]] == [0.0, 0.5, 0.6, 0.8, 0.9]
    start, end = cov["points"][0], cov["points"][-1]
    assert start["coverage"] == 0.8 and start["precision"] == 0.5 and start["accuracy"] == 0.6
    assert end["coverage"] == 0.2 and end["precision"] == 1.0

    m = compute_metrics([labels[i] for i in y], proba, labels, other_label="Other")
    assert m["coverage"]["threshold"] == 0.8
    unreachable = coverage_curve(y, proba, other_index=2, target_precision=1.0 + 1e-6)
    assert unreachable["threshold"] is None and unreachable["coverage"] is None


def test_coverage_threshold_is_zero_when_no_abstaining_is_needed() -> None:
    proba = np.array([[0.6, 0.1, 0.3], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    cov = coverage_curve([0, 1, 2], proba, other_index=2, target_precision=0.9)
    assert cov["threshold"] == 0.0 and cov["coverage"] == pytest.approx(2 / 3, abs=1e-6)


def test_coverage_curve_ties_and_sampling() -> None:
    # two rows tied at 0.7 (one right, one wrong): a threshold covers both or neither
    y = np.array([0, 1, 0])
    proba = np.array([[0.7, 0.1, 0.2], [0.7, 0.1, 0.2], [0.2, 0.2, 0.6]])
    cov = coverage_curve(y, proba, other_index=2, target_precision=0.9)
    assert cov["threshold"] is None
    assert cov["points"][-1] == {
        "threshold": 0.7,
        "coverage": 0.666667,
        "precision": 0.5,
        "accuracy": 0.333333,
    }
    rng = np.random.default_rng(0)
    many = rng.dirichlet(np.ones(4), size=1000)
    cov = coverage_curve(rng.integers(0, 4, 1000), many, other_index=3, max_points=50)
    assert len(cov["points"]) <= 51
    assert [p["threshold"] for p in cov["points"]] == sorted(p["threshold"] for p in cov["points"])


def test_coverage_points_follow_the_models_abstain_rule() -> None:
    from role_classifier.modeling.head import abstain

    rng = np.random.default_rng(3)
    proba = np.round(rng.dirichlet(np.ones(4), size=300), 2)  # rounded: many ties
    y = rng.integers(0, 4, 300)
    cov = coverage_curve(y, proba, other_index=1, target_precision=0.5)
    for p in [*cov["points"], cov]:
        decided = abstain(proba, 1, p["threshold"])
        named = decided != 1
        assert p["coverage"] == pytest.approx(named.mean(), abs=1e-6)
        assert p["accuracy"] == pytest.approx((decided == y).mean(), abs=1e-6)
        assert p["precision"] == pytest.approx((decided == y)[named].mean(), abs=1e-6)


def test_metrics_reject_bad_input() -> None:
    with pytest.raises(EvaluationError, match="no rows"):
        compute_metrics([], np.zeros((0, 4)), LABELS)
    with pytest.raises(EvaluationError, match="not in the label set"):
        compute_metrics(["Z"], np.full((1, 4), 0.25), LABELS)
    with pytest.raises(EvaluationError, match="shape"):
        compute_metrics(["A"], np.full((1, 3), 1 / 3), LABELS)


# -- reading rows ----------------------------------------------------------------------------
def test_read_normalises_labels_and_reports_bad_rows(postings_csv: Path) -> None:
    rows = read_labelled_csv(
        postings_csv, "role", "description", "title", filters={"split": ["test"]}
    )
    assert rows.total == 43
    assert rows.filtered_out == 24
    assert len(rows) == 16
    assert set(rows.labels) == set(WORDS)  # "ml engineer" became "ML Engineer"
    assert rows.unknown_labels == {"Data Scientist": 1}
    assert [e["row"] for e in rows.errors] == [41, 42]
    assert "empty text" in rows.errors[0]["error"] and "empty label" in rows.errors[1]["error"]
    assert rows.titles is not None and len(rows.titles) == 16
    assert rows.counts() == {
        "total": 43,
        "filtered_out": 24,
        "unknown_label": 1,
        "errors": 2,
        "ragged": 0,
        "evaluated": 16,
    }


def test_label_normalisation_with_casing_and_spacing(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "l.csv",
        [
            {"label": " ml  engineer ", "text": "train models"},
            {"label": "AI-Agent-Engineer", "text": "build agents"},
            {"label": "OTHER", "text": "nurse"},
        ],
    )
    rows = read_labelled_csv(path, "label", "text")
    assert rows.labels == ["ML Engineer", "AI Agent Engineer", "Other"]
    assert rows.titles is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "is empty"),
        ("role,description\n", "no data rows"),
        (
            "label,text\nOther,nurse\n",
            "no column 'role' (label column); its columns are: label, text",
        ),
    ],
)
def test_read_errors(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        read_labelled_csv(path, "role", "description")


def test_filter_errors(postings_csv: Path) -> None:
    with pytest.raises(DataError, match="no row .* matches the filters .*'test'"):
        read_labelled_csv(postings_csv, "role", "description", filters={"split": ["tst"]})
    with pytest.raises(DataError, match="no column 'lang'"):
        read_labelled_csv(postings_csv, "role", "description", filters={"lang": ["en"]})
    with pytest.raises(DataError, match="COLUMN=VALUE"):
        parse_filters(["split"])


def test_predict_rows_batches_and_keeps_order() -> None:
    class Echo:
        labels = ["A", "B"]
        calls: list[int] = []

        def predict_proba(
            self, texts: Sequence[str], titles: Sequence[str | None] | None = None
        ) -> np.ndarray:
            self.calls.append(len(texts))
            return np.array([[float(t), 1 - float(t)] for t in texts])

        def decide(self, proba: np.ndarray) -> np.ndarray:
            return proba.argmax(axis=1)

    rows = LabelledRows(descriptions=[str(i / 200) for i in range(150)], labels=["A"] * 150)
    clf = Echo()
    proba = predict_rows(clf, rows, batch_size=64)
    assert clf.calls == [64, 64, 22]
    np.testing.assert_allclose(proba[:, 0], [i / 200 for i in range(150)])


# -- the TF-IDF baseline ----------------------------------------------------------------------
def test_tfidf_baseline_fits_and_predicts(postings_csv: Path) -> None:
    tax = load_taxonomy()
    train = read_labelled_csv(postings_csv, "role", "description", filters={"split": ["train"]})
    clf = TfidfBaseline(tax.labels).fit(train.descriptions, train.labels)
    proba = clf.predict_proba(list(WORDS.values()))
    assert proba.shape == (4, len(tax.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[:, tax.labels.index("Prompt Engineer")].max() == 0.0  # no training rows
    assert [clf.labels[i] for i in clf.decide(proba)] == list(WORDS)
    assert clf.predict_proba("nurse sales").shape == (1, len(tax.labels))


def test_tfidf_baseline_reads_titles() -> None:
    clf = TfidfBaseline(["A", "Other"]).fit(
        ["same words here", "same words here", "same words here", "same words here"],
        ["A", "A", "Other", "Other"],
        titles=["rag agent", "rag agent", "nurse ward", "nurse ward"],
    )
    proba = clf.predict_proba(["same words here"], titles=["rag agent"])
    assert clf.decide(proba)[0] == 0


def test_tfidf_baseline_errors() -> None:
    with pytest.raises(ValueError, match="at least two labels"):
        TfidfBaseline(["A", "Other"]).fit(["x y", "x y"], ["A", "A"])
    with pytest.raises(ValueError, match="not in the label set"):
        TfidfBaseline(["A", "Other"]).fit(["x y", "x z"], ["A", "Z"])
    with pytest.raises(ValueError, match="cannot train"):
        TfidfBaseline(["A", "Other"]).fit(["alpha", "beta"], ["A", "Other"])  # min_df=2
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfBaseline(["A", "Other"]).predict_proba(["x"])


# -- evaluate() and the report ----------------------------------------------------------------
def test_evaluate_json_schema(postings_csv: Path) -> None:
    both = evaluate(
        postings_csv,
        "role",
        "description",
        "title",
        models=["tfidf-baseline"],
        filters={"split": ["test"]},
        baseline_train=postings_csv,
        baseline_filters={"split": ["train"]},
    )
    assert set(both) == {"schema_version", "models"} and both["schema_version"] == 2
    [result] = both["models"]  # one model: the same shape as several
    assert set(result) == SCHEMA_KEYS
    assert result["model"] == "tfidf-baseline"
    assert result["n"] == 16
    assert result["unknown_labels"] == {"Data Scientist": 1}
    assert result["rows"]["errors"] == 2 and len(result["errors"]) == 2
    assert set(result["per_label"]["Other"]) == {"precision", "recall", "f1", "support"}
    assert set(result["confusion"]) == {"labels", "matrix"}
    assert set(result["coverage"]) == {
        "target_precision",
        "threshold",
        "coverage",
        "precision",
        "accuracy",
        "points",
    }
    assert set(result["coverage"]["points"][0]) == {
        "threshold",
        "coverage",
        "precision",
        "accuracy",
    }
    assert result["data"]["filters"] == {"split": ["test"]}
    assert set(result["excluded_labels"]) == {
        "ML Researcher",
        "Prompt Engineer",
        "AIOps Engineer",
        "AI Agent Engineer",
    }
    assert any("no training rows" in w for w in result["warnings"])
    json.dumps(result)  # JSON-ready: no numpy types


def test_evaluate_warns_when_baseline_trained_on_test_rows(postings_csv: Path) -> None:
    result = evaluate(
        postings_csv, "role", "description", models=["tfidf-baseline"], baseline_train=postings_csv
    )["models"][0]
    assert any("also in the baseline's training rows" in w for w in result["warnings"])


def test_evaluate_needs_baseline_data(postings_csv: Path) -> None:
    with pytest.raises(EvaluationError, match="--baseline-train"):
        evaluate(postings_csv, "role", "description", models=["tfidf-baseline"])


def test_report_dir_contents(postings_csv: Path, tmp_path: Path, tiny_trained) -> None:  # noqa: ANN001
    out = tmp_path / "report"
    result = evaluate(
        postings_csv,
        "role",
        "description",
        "title",
        models=[("tiny", tiny_trained)],
        filters={"split": ["test"]},
        report_dir=out,
    )["models"][0]
    pngs = ["confusion_matrix.png", "reliability.png", "coverage.png"]
    for name in pngs:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in pngs:
        assert f"]({name})" in report
    assert "misclassified.csv" in report and "Data Scientist (1)" in report
    with (out / "misclassified.csv").open(encoding="utf-8", newline="") as fh:
        wrong = list(csv.DictReader(fh))
    assert len(wrong) == result["n"] - round(result["accuracy"] * result["n"])
    confidences = [float(r["confidence"]) for r in wrong]
    assert confidences == sorted(confidences, reverse=True)
    assert all(r["true"] != r["predicted"] for r in wrong)
    added = ["row", "line", "true", "predicted", "confidence", "true_probability"]
    assert list(wrong[0]) == ["title", "description", "role", "split", *added]
    with postings_csv.open(encoding="utf-8", newline="") as fh:
        source = list(csv.DictReader(fh))
    for r in wrong:  # every original cell, from the row and line it names
        assert {k: r[k] for k in source[0]} == source[int(r["row"]) - 1]
        assert int(r["line"]) == int(r["row"]) + 1


# -- the command line -------------------------------------------------------------------------
def test_cli_compares_models_side_by_side(
    postings_csv: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out_json, out_dir = tmp_path / "m.json", tmp_path / "rep"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(postings_csv),
            "--label-column",
            "role",
            "--text-column",
            "description",
            "--title-column",
            "title",
            "--filter",
            "split=test",
            "-m",
            str(tiny_model_dir),
            "-m",
            "tfidf-baseline",
            "--baseline-train",
            str(postings_csv),
            "--baseline-filter",
            "split=train",
            "--json",
            str(out_json),
            "--report-dir",
            str(out_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tfidf-baseline" in result.stdout and "macro-F1" in result.stdout
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["schema_version"] == 2
    models = data["models"]
    assert [m["model"] for m in models] == [str(tiny_model_dir), "tfidf-baseline"]
    assert all(set(m) == SCHEMA_KEYS for m in models)
    assert models[0]["n"] == models[1]["n"] == 16  # the same rows
    folders = sorted(p.name for p in out_dir.iterdir() if p.is_dir())
    assert folders == sorted([tiny_model_dir.name, "tfidf-baseline"])
    report = (out_dir / "report.md").read_text(encoding="utf-8")
    assert "| tfidf-baseline |" in report and "coverage.png" in report
    assert (out_dir / "tfidf-baseline" / "confusion_matrix.png").read_bytes()[:8] == PNG_MAGIC


def test_cli_json_to_stdout(postings_csv: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(postings_csv),
            "--label-column",
            "role",
            "--text-column",
            "description",
            "-m",
            "tfidf-baseline",
            "--baseline-train",
            str(postings_csv),
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2 and set(data) == {"schema_version", "models"}
    assert [m["model"] for m in data["models"]] == ["tfidf-baseline"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--label-column", "label", "-m", "tfidf-baseline", "--baseline-train", "{csv}"],
            "its columns are: title, description, role, split",
        ),
        (["--label-column", "role", "--filter", "split"], "COLUMN=VALUE"),
        (["--label-column", "role", "-m", "tfidf-baseline"], "needs --baseline-train"),
        (["--label-column", "role", "-m", "/no/such/model"], "unknown model '/no/such/model'"),
    ],
)
def test_cli_bad_input_exits_2(postings_csv: Path, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(
        app,
        ["evaluate", str(postings_csv), "--text-column", "description"]
        + [a.replace("{csv}", str(postings_csv)) for a in args],
    )
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_empty_file_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = CliRunner().invoke(
        app,
        ["evaluate", str(empty), "--label-column", "role", "--text-column", "description"]
        + ["-m", "tfidf-baseline", "--baseline-train", str(empty)],
    )
    assert result.exit_code == 2
    assert "is empty: expected a CSV" in " ".join(result.output.split())


@pytest.mark.slow
def test_zero_shot_real_backbone_against_baseline(postings_csv: Path) -> None:
    result = evaluate(
        postings_csv,
        "role",
        "description",
        "title",
        models=["zero-shot", "tfidf-baseline"],
        filters={"split": ["test"]},
        baseline_train=postings_csv,
        baseline_filters={"split": ["train"]},
    )
    zero_shot, baseline = result["models"]
    assert zero_shot["n"] == baseline["n"] == 16
    assert zero_shot["accuracy"] > 0.5  # titles name the roles


def test_models_with_one_backbone_are_encoded_once(
    postings_csv: Path, tiny_trained, tiny_zero_shot, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = {"filters": {"split": ["test"]}, "title_column": "title"}
    alone = [
        evaluate(postings_csv, "role", "description", models=[(n, c)], **kwargs)["models"][0]
        for n, c in (("head", tiny_trained), ("zs", tiny_zero_shot))
    ]
    calls = []
    real_encode = type(tiny_trained)._encode
    monkeypatch.setattr(
        type(tiny_trained), "_encode", lambda self, p: calls.append(len(p)) or real_encode(self, p)
    )
    both = evaluate(
        postings_csv,
        "role",
        "description",
        models=[("head", tiny_trained), ("zs", tiny_zero_shot)],
        **kwargs,
    )
    assert sum(calls) == both["models"][0]["n"]  # the rows were encoded once, not twice
    for one, shared in zip(alone, both["models"], strict=True):
        assert shared["accuracy"] == one["accuracy"] and shared["ece"] == one["ece"]


def test_group_metrics_match_metrics_on_each_subset() -> None:
    from role_classifier.evaluation import GROUP_KEYS, group_metrics

    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(len(LABELS)), size=30)
    y = [LABELS[i] for i in rng.integers(0, len(LABELS), size=30)]
    groups = ["big"] * 18 + ["small"] * 12
    out = group_metrics(y, proba, groups, LABELS, min_support=2)
    assert list(out) == ["big", "small"]
    for name, rows in (("big", slice(0, 18)), ("small", slice(18, 30))):
        alone = compute_metrics(y[rows], proba[rows], LABELS, min_support=2)
        assert out[name] == {k: alone[k] for k in GROUP_KEYS}


def test_evaluate_reports_every_group(postings_csv: Path, tmp_path: Path, tiny_trained) -> None:  # noqa: ANN001
    result = evaluate(
        postings_csv,
        "role",
        "description",
        "title",
        models=[("tiny", tiny_trained)],
        group_column="split",
        report_dir=tmp_path / "rep",
    )["models"][0]
    assert set(result) == SCHEMA_KEYS | {"groups"}
    assert result["data"]["group_column"] == "split"
    assert {k: g["n"] for k, g in result["groups"].items()} == {"train": 24, "test": 16}
    report = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "## By split" in report and "| train | 24 |" in report


def test_cli_group_column_table_and_missing_column(
    postings_csv: Path, tiny_model_dir: Path
) -> None:
    base = ["evaluate", str(postings_csv), "--label-column", "role", "--text-column", "description"]
    ok = CliRunner().invoke(app, [*base, "-m", str(tiny_model_dir), "--group-column", "split"])
    assert ok.exit_code == 0, ok.output
    assert "By split" in ok.stdout and "train" in ok.stdout
    bad = CliRunner().invoke(app, [*base, "-m", str(tiny_model_dir), "--group-column", "source"])
    assert bad.exit_code == 2 and "no column 'source' (group column)" in bad.stderr


# -- one reader: ragged rows, delimiters, encodings; the label-csv command ---------------------
def test_ragged_rows_are_skipped_and_named_by_line(tmp_path: Path) -> None:
    text = (
        "role;description;split\n"
        "ML Engineer;train models;test\n"
        "Other;nurse;test;extra\n"  # line 3: too many cells
        "AI Engineer;build rag\n"  # line 4: too few
        "Other;caf\xe9 nurse;test\n"  # line 5: Windows-1252
    )
    path = tmp_path / "semi.csv"
    path.write_bytes(text.encode("cp1252"))
    rows = read_labelled_csv(path, "role", "description")
    assert rows.delimiter == ";" and rows.labels == ["ML Engineer", "Other"]
    assert rows.descriptions[1] == "café nurse"
    assert [(r["row"], r["line"]) for r in rows.ragged] == [(2, 3), (3, 4)]
    assert rows.counts()["ragged"] == 2 and rows.counts()["total"] == 4
    warnings = rows.warnings()
    assert f"{path}: skipped 2 rows whose cell count differs from the header's (lines 3, 4)" in (
        warnings
    )
    assert any("line is not valid UTF-8 (read as Windows-1252; line 5)" in w for w in warnings)
    assert read_labelled_csv(path, "role", "description", delimiter=";").labels == rows.labels
    with pytest.raises(DataError, match="no column 'role'"):
        read_labelled_csv(path, "role", "description", delimiter=",")


def test_cli_says_which_rows_it_skipped_and_prints_the_label_csv_command(
    postings_csv: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(
        postings_csv.read_text("utf-8") + "x,y\n", encoding="utf-8"
    )  # the last line (45) has 2 cells
    args = ["evaluate", str(ragged), "--label-column", "role", "--text-column", "description"]
    args += ["--title-column", "title", "-m", str(tiny_model_dir), "--target-precision", "0.3"]
    result = CliRunner().invoke(app, [*args, "--json", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    line = " ".join(result.stderr.split())
    assert "skipped 1 row whose cell count differs from the header's (line 45)" in line
    [m] = json.loads((tmp_path / "m.json").read_text("utf-8"))["models"]
    assert m["ragged"] == [{"row": 44, "line": 45, "error": "row has 2 cells but the header has 4"}]
    threshold = m["coverage"]["threshold"]
    if threshold:  # the random tiny head reaches 0.3 somewhere above 0 on these rows
        expected = (
            "role-classifier label-csv JOBS.csv LABELLED.csv --text-column description "
            f"--title-column title --model {tiny_model_dir} --min-confidence {threshold}"
        )
        assert expected in line


# -- advice: what the command line tells the user after an evaluation ------------------------
def _advised(model: str, warnings: list[str], threshold: float | None) -> dict:
    return {
        "model": model,
        "warnings": warnings,
        "coverage": {"threshold": threshold, "target_precision": 0.9, "coverage": 0.75},
        "data": {"text_column": "description", "title_column": "title"},
    }


def test_split_warnings_shared_first_then_per_model() -> None:
    a = _advised("a", ["ragged rows", "reused nothing", "slow"], None)
    b = _advised("b", ["baseline warning", "ragged rows"], None)
    assert split_warnings([a, b]) == [
        (None, "ragged rows"),
        ("a", "reused nothing"),
        ("a", "slow"),
        ("b", "baseline warning"),
    ]
    assert split_warnings([a]) == [(None, w) for w in a["warnings"]]  # one model: all shared
    assert split_warnings([]) == []


def test_label_hints_name_model_precision_coverage_and_command() -> None:
    models = [
        _advised("models/mine", [], 0.62),
        _advised("default", [], 0.0),  # no abstaining needed: no hint
        _advised("zero-shot", [], None),  # target not reached: no hint
        _advised("tfidf-baseline", [], 0.5),  # label-csv cannot run the baseline
    ]
    [hint] = label_hints(models)
    assert hint == (
        "to label new postings with models/mine at precision 0.9 (coverage 0.750 here): "
        "role-classifier label-csv JOBS.csv LABELLED.csv --text-column description "
        "--title-column title --model models/mine --min-confidence 0.62"
    )
    [hint] = label_hints(models, taxonomy_path=Path("my roles.yaml"), backend="torch")
    assert hint.endswith("--min-confidence 0.62 --taxonomy 'my roles.yaml' --backend torch")
    assert "--backend" not in label_hints(models, backend="onnx")[0]  # the default: not said


def test_advice_on_an_evaluation(postings_csv: Path, tiny_trained) -> None:  # noqa: ANN001
    result = evaluate(
        postings_csv,
        "role",
        "description",
        "title",
        models=[("tiny", tiny_trained), "tfidf-baseline"],
        baseline_train=postings_csv,
        target_precision=0.0,  # every threshold reaches it: 0, so no label-csv hint
    )
    out = advice(result, taxonomy_path="roles.yaml", backend="torch")
    assert set(out) == {"warnings", "hints"}
    assert out["hints"] == []
    tiny, baseline = result["models"]
    about_data = [w for w in tiny["warnings"] if w in baseline["warnings"]]
    assert [w for who, w in out["warnings"] if who is None] == about_data
    own = [w for who, w in out["warnings"] if who == "tfidf-baseline"]
    assert any("also in the baseline's training rows" in w for w in own)
    assert all(who in (None, "tfidf-baseline") for who, _ in out["warnings"])
    result["models"][0]["coverage"]["threshold"] = 0.5
    [hint] = advice(result, taxonomy_path="roles.yaml", backend="torch")["hints"]
    assert hint.startswith("to label new postings with tiny at precision 0 (coverage ")
    assert hint.endswith("--min-confidence 0.5 --taxonomy roles.yaml --backend torch")


def test_the_evaluation_package_exports_its_names() -> None:
    import role_classifier.evaluation as evaluation

    for name in (
        "BASELINE_NAME", "SCHEMA_VERSION", "GROUP_KEYS", "Classifier", "ModelRun", "evaluate",
        "label_csv_command", "compute_metrics", "coverage_curve", "group_metrics",
        "calibration_bins", "expected_calibration_error", "predict_rows", "write_report",
    ):  # fmt: skip
        assert hasattr(evaluation, name), name
    assert issubclass(evaluation.EvaluationError, DataError)
