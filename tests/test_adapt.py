"""``adapt``: a model for a feed from corrections (library and command), on the tiny backbone."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.corrections import CorrectionsError, read_corrections
from role_classifier.modeling.adapt import AdaptError
from role_classifier.modeling.model import RoleClassifier

runner = CliRunner()

TEXTS = {
    "ML Engineer": "Train machine learning models in pytorch for production.",
    "MLOps Engineer": "Run model serving on kubernetes and ml pipelines.",
    "AI Engineer": "Build rag with a vector database and llm apis.",
    "Other": "Nurse for the night shift; sales analyst dashboard sql.",
}


def _rows(n: int = 4, column: str = "correct_role") -> list[dict[str, str]]:
    return [
        {
            "id": f"{k}-{i}",
            "title": f"{label} {i}",
            "description": f"{text} Team {i}.",
            column: label,
        }
        for k, (label, text) in enumerate(TEXTS.items())
        for i in range(n)
    ]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id", "description", "label"])
        w.writeheader()
        w.writerows(rows)
    return path


def test_adapt_returns_a_new_model_and_leaves_the_base_alone(tiny_trained: RoleClassifier) -> None:
    rows = _rows(4)
    texts, titles = [r["description"] for r in rows], [r["title"] for r in rows]
    labels = [r["correct_role"] for r in rows]
    before = copy.deepcopy(tiny_trained.head)
    config = copy.deepcopy(tiny_trained.config)
    adapted = tiny_trained.adapt(texts, labels, titles=titles, weight=200.0)
    assert adapted is not tiny_trained
    np.testing.assert_array_equal(tiny_trained.head["weight"], before["weight"])
    assert tiny_trained.config == config
    base_acc = np.mean(np.array(tiny_trained.predict(texts, titles)) == np.array(labels))
    new_acc = np.mean(np.array(adapted.predict(texts, titles)) == np.array(labels))
    assert new_acc > base_acc and new_acc >= 0.9
    meta = adapted.metadata
    assert meta["corrections"]["per_label"] == {k: 4 for k in sorted(TEXTS)}
    assert meta["adapted"]["held_out_metrics"]["n"] == 32  # 16 postings, with and without titles
    assert adapted.held_out is not None and len(adapted.held_out) >= 32


def test_a_tiny_weight_keeps_the_base_head(tiny_trained: RoleClassifier) -> None:
    rows = _rows(1)
    adapted = tiny_trained.adapt(
        [r["description"] for r in rows], [r["correct_role"] for r in rows], weight=1e-9
    )
    np.testing.assert_allclose(adapted.head["weight"], tiny_trained.head["weight"], atol=1e-3)
    np.testing.assert_allclose(adapted.head["bias"], tiny_trained.head["bias"], atol=1e-3)
    assert adapted.config.temperature == tiny_trained.config.temperature  # 4 < 10: not refitted


def test_unknown_and_unseen_roles_are_refused(tiny_trained: RoleClassifier) -> None:
    with pytest.raises(AdaptError, match="not in the model.*'Astronaut'"):
        tiny_trained.adapt(["Train models."], ["Astronaut"])
    seen = copy.copy(tiny_trained)
    seen.metadata = {"training_rows": {"per_label": {"ML Engineer": 3, "Other": 5}}}
    with pytest.raises(AdaptError, match="without any posting of 'AI Engineer'.*taxonomy's job"):
        seen.adapt(["Build rag."], ["ai engineer"])  # case forgiven, then refused as unseen


def test_duplicate_ids_last_wins_and_undo_withdraws(tmp_path: Path) -> None:
    rows = _rows(1)
    rows.append({**rows[0], "correct_role": "Other"})  # the same id again, another role
    rows.append({**rows[1], "correct_role": ""})  # an undo: the answer is withdrawn
    rows.append({**rows[2], "id": "new", "correct_role": ""})  # an unanswered queue row
    found = read_corrections(_write(tmp_path / "c.csv", rows))
    assert (found.replaced, found.disagreeing, found.withdrawn, found.unanswered) == (1, 1, 1, 1)
    assert sorted(found.ids) == [rows[0]["id"], rows[2]["id"], rows[3]["id"]]
    assert found.labels[found.ids.index(rows[0]["id"])] == "Other"


def test_adapt_command_saves_a_model_every_command_loads(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    rows = _rows(4)
    rows.append({**rows[0], "correct_role": "Other"})
    corrections = _write(tmp_path / "corrections.csv", rows)
    out = tmp_path / "mine"
    result = runner.invoke(
        app, ["adapt", str(corrections), "--output", str(out), "--model", str(tiny_model_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "16 corrections" in result.stdout and "1 gave a different role" in result.stdout
    card = (out / "README.md").read_text()
    assert "## Adapted to a feed" in card and str(corrections) in card
    assert str(tiny_model_dir) in card and "| MLOps Engineer | 4 |" in card
    assert (out / "held_out.safetensors").is_file()
    again = runner.invoke(
        app, ["adapt", str(corrections), "--output", str(out), "--model", str(tiny_model_dir)]
    )
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    answer = runner.invoke(app, ["classify", "--json", "--model", str(out), TEXTS["AI Engineer"]])
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["label"] in RoleClassifier(config=None).labels
    labelled = tmp_path / "labelled.csv"
    result = runner.invoke(
        app,
        [
            "label-csv",
            str(corrections),
            str(labelled),
            "--model",
            str(out),
            "--all-scores",
            "--text-column",
            "description",
            "--title-column",
            "title",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    _serve_answers(out)
    shares = runner.invoke(
        app, ["shares", str(labelled), "--model", str(out), "--n-boot", "0", "--json"]
    )
    assert shares.exit_code == 0, shares.output


@pytest.mark.parametrize(
    ("rows", "args", "needle"),
    [
        (
            [{"id": "1", "description": "Train models.", "correct_role": "Astronaut"}],
            [],
            "not in the model",
        ),
        ([{"id": "1", "text": "Train models.", "correct_role": "Other"}], [], "no text column"),
        ([{"id": "1", "description": "Train models.", "role": "Other"}], [], "no role column"),
        (
            [{"id": "1", "description": "Train models.", "label": "Other"}],
            ["--title-column", "headline"],
            "no title column 'headline'",
        ),
        ([{"id": "1", "description": "Train models.", "correct_role": ""}], [], "no corrections"),
        ([], [], "no rows"),
    ],
)
def test_bad_corrections_are_one_line_errors(
    rows: list[dict[str, str]], args: list[str], needle: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path / "c.csv", rows)
    result = runner.invoke(
        app, ["adapt", str(path), "-o", str(tmp_path / "m"), "-m", str(tiny_model_dir), *args]
    )
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", _rows(1))
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["adapt", str(path), "-o", str(tmp_path / "m"), "-m", str(tmp_path / "empty")]
    )
    assert result.exit_code == 2 and "not a saved role-classifier model" in result.stderr


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("")
    with pytest.raises(CorrectionsError):
        read_corrections(tmp_path / "c.csv")


def _serve_answers(folder: Path) -> None:
    """``serve --model FOLDER`` answers with the adapted model (the app, without a socket)."""
    import time

    from fastapi.testclient import TestClient

    from role_classifier.serve.app import ServeConfig, create_app

    model = RoleClassifier.from_pretrained(folder, backend="torch")
    with TestClient(create_app(model, ServeConfig(model_name=str(folder)))) as client:
        deadline = time.monotonic() + 60
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = client.post("/v1/classify", json={"text": TEXTS["MLOps Engineer"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == str(folder)


def test_refit_fits_on_the_training_features_plus_the_corrections(
    tiny_trained: RoleClassifier, tmp_path: Path
) -> None:
    from role_classifier.modeling.adapt import (
        TRAINING_FEATURES,
        AdaptOptions,
        TrainingFeatures,
        adapt_classifier,
        correction_features,
    )
    from role_classifier.text import Posting

    rows = _rows(4)
    postings = [Posting(r["description"], r["title"]) for r in rows]
    labels = [r["correct_role"] for r in rows]
    titled, plain = correction_features(tiny_trained, tiny_trained.encode(postings))
    y = np.array([tiny_trained.labels.index(lab) for lab in labels])
    TrainingFeatures(titled, plain, y, np.array(["a.csv"] * 8 + ["b.csv"] * 8)).save(
        tmp_path / "training.npz"
    )
    training = TrainingFeatures.load(tmp_path / "training.npz")
    np.testing.assert_allclose(training.titled, titled, atol=2e-3)  # float16 on disk
    x, yy, w = training.stacked(1.0)
    assert x.shape == (32, titled.shape[1]) and yy.tolist() == y.tolist() * 2
    np.testing.assert_allclose(w, 1.0)  # two files of 8: balanced already

    options = AdaptOptions(method="refit", weight=5.0)
    adapted = adapt_classifier(tiny_trained, postings, labels, options, training=training)
    assert np.mean(np.array(adapted.predict([p.description for p in postings])) == labels) >= 0.9
    assert adapted.metadata["adapted"]["options"]["method"] == "refit"
    with pytest.raises(AdaptError, match="training_features.npz"):  # in memory: none saved
        adapt_classifier(tiny_trained, postings, labels, options)
    # the title's weight in the refitted head: 0 leaves every title-embedding weight at 0
    no_title = AdaptOptions(method="refit", title_embedding_scale=0.0)
    head = adapt_classifier(tiny_trained, postings, labels, no_title, training=training).head
    assert not head["weight"][:, tiny_trained.layout.title_embedding].any()
    assert adapted.head["weight"][:, tiny_trained.layout.title_embedding].any()

    # the default (auto): refit where the base folder has its training features, else anchored
    assert adapt_classifier(tiny_trained, postings, labels).metadata["adapted"]["method"] == (
        "anchored"
    )
    folder = tmp_path / "base"
    tiny_trained.save_pretrained(folder, model_card="# tiny\n")
    training.save(folder / TRAINING_FEATURES)
    saved = RoleClassifier.from_pretrained(folder)
    assert saved.adapt([p.description for p in postings], labels).metadata["adapted"]["method"] == (
        "refit"
    )


def test_share_weighs_the_corrections_together() -> None:
    from role_classifier.modeling.adapt import AdaptOptions

    assert AdaptOptions(weight=2.0).correction_weight(50, 1000) == 2.0
    assert AdaptOptions(share=0.5).correction_weight(50, 1000) == 10.0
    assert AdaptOptions(share=0.5).correction_weight(500, 1000) == 1.0  # never below weight
    with pytest.raises(ValueError, match="method"):
        AdaptOptions(method="magic")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weight", 0.0),
        ("share", -1.0),
        ("folds", 1),
        ("review_precision", 0.0),
        ("method", "x"),
        ("title_embedding_scale", -1.0),
        ("review_z", -0.5),
    ],
)
def test_every_option_is_validated(field: str, value: object) -> None:
    from role_classifier.modeling.adapt import AdaptOptions

    with pytest.raises(ValueError, match=field):
        AdaptOptions(**{field: value})


def test_fit_head_starts_from_init_in_raw_space() -> None:
    """``init`` is a raw-space head (what a model stores): started from the optimum, one solver
    step stays there, however the features are scaled; started from the anchor it does not."""
    from dataclasses import replace

    from role_classifier.modeling.features import FeatureLayout
    from role_classifier.modeling.fitting import fit_head
    from role_classifier.training_config import TrainConfig

    settings = TrainConfig(c=1.0, title_embedding_scale=0.5, embedding_scale=2.0)
    rng = np.random.default_rng(0)
    layout = FeatureLayout(dim=4, n_labels=3)
    x = rng.normal(3.0, 5.0, size=(60, layout.n_features))  # far from standardised
    y = rng.integers(0, 3, 60)
    optimum = fit_head(x, y, layout, settings)
    one_step = replace(settings, max_iter=1)
    warm = fit_head(x, y, layout, one_step, init=optimum)
    cold = fit_head(x, y, layout, one_step)
    np.testing.assert_allclose(warm["weight"], optimum["weight"], atol=1e-3)
    np.testing.assert_allclose(warm["bias"], optimum["bias"], atol=1e-3)
    assert np.abs(cold["weight"] - optimum["weight"]).max() > 1e-2
    loose = fit_head(x, y, layout, settings, init=optimum, tol=1e-6)
    np.testing.assert_allclose(loose["weight"], optimum["weight"], atol=1e-3)
