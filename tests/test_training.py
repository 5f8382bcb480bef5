from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.modeling.model import RoleClassifier
from role_classifier.taxonomy import load_taxonomy
from role_classifier.training import (
    TrainConfig,
    TrainingDataError,
    fit_temperature,
    load_training_data,
    train,
)

TEXTS = {
    "ML Engineer": "Train machine learning models in pytorch for production.",
    "MLOps Engineer": "Run model serving on kubernetes and ml pipelines.",
    "Prompt Engineer": "Write prompts for our llm and grade the answers.",
    "AI Engineer": "Build rag with a vector database and llm apis.",
    "Other": "Nurse for the night shift; sales analyst dashboard sql.",
}


def _write(path: Path, rows: list[dict[str, str]], fields: list[str] | None = None) -> Path:
    fields = fields or ["title", "description", "label"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def _rows(n: int = 4) -> list[dict[str, str]]:
    return [
        {"title": f"{label} {i}", "description": f"{text} Team {i}.", "label": label.lower()}
        for label, text in TEXTS.items()
        for i in range(n)
    ]


@pytest.fixture()
def train_csv(tmp_path: Path) -> Path:
    return _write(tmp_path / "train.csv", _rows())


def test_load_training_data_normalises_labels(train_csv: Path) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    assert set(data.labels) == set(TEXTS)
    assert len(data.postings) == 20


@pytest.mark.parametrize(
    ("rows", "fields", "needle"),
    [
        (
            [{"title": "t", "description": "d", "label": "Chef"}] * 2,
            None,
            "label(s) not in the taxonomy: {'Chef': 2}",
        ),
        (
            [{"title": "t", "description": "d"}] * 2,
            ["title", "description"],
            "has no label column (label or title_label)",
        ),
        (
            [
                {"title": "t", "description": "d", "label": "Other"},
                {"title": "t", "description": "d", "label": "AI Engineer"},
            ],
            None,
            "at least 2 rows",
        ),
        ([], None, "header but no data rows"),
        ([{"title": "", "description": "  <br> ", "label": "Other"}] * 2, None, "empty text"),
    ],
)
def test_bad_training_data_fails_before_training(
    tmp_path: Path, rows: list, fields: list | None, needle: str
) -> None:
    path = _write(tmp_path / "bad.csv", rows, fields)
    with pytest.raises(TrainingDataError) as info:
        load_training_data([path], load_taxonomy())
    assert needle in str(info.value) and str(path) in str(info.value)


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TrainingDataError, match="empty"):
        load_training_data([tmp_path / "empty.csv"], load_taxonomy())


def test_filters_keep_matching_rows(tmp_path: Path) -> None:
    rows = [dict(r, split="train" if i % 2 else "test") for i, r in enumerate(_rows())]
    path = _write(tmp_path / "s.csv", rows, ["title", "description", "label", "split"])
    assert (
        len(load_training_data([path], load_taxonomy(), filters={"split": ["train"]}).labels) == 10
    )


def test_unknown_config_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown training config key"):
        TrainConfig.from_dict({"learning_rate": 1})


def test_temperature_recovers_a_known_scale() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 4)) * 2
    y = np.array([rng.choice(4, p=np.exp(z) / np.exp(z).sum()) for z in true_logits])
    assert fit_temperature(true_logits * 3, y) == pytest.approx(3, rel=0.15)


def test_train_is_deterministic_and_round_trips(
    train_csv: Path, tiny_config, tmp_path: Path
) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    cfg = TrainConfig(window_tokens=32, dev_fraction=0.25)
    a = train(data, cfg, backbone=tiny_config.backbone)
    b = train(data, cfg, backbone=tiny_config.backbone)
    np.testing.assert_array_equal(a.head["weight"], b.head["weight"])
    assert a.metadata["training_rows"]["total"] == 20
    assert a.config.temperature > 0 and a.config.temperature_description_only > 0
    texts = [p.description for p in data.postings[:5]]
    a.save_pretrained(tmp_path / "m")
    loaded = RoleClassifier.from_pretrained(tmp_path / "m", backend="torch")
    np.testing.assert_allclose(loaded.predict_proba(texts), a.predict_proba(texts), atol=1e-5)
    _check_training_features(a, data, loaded, tmp_path)


def _check_training_features(trained, data, loaded, tmp_path: Path) -> None:  # noqa: ANN001
    """``train`` keeps both views of every posting; ``save_pretrained`` writes them, a reloaded
    model saved elsewhere carries them along, an adapted model has none (and a stale file in its
    folder is removed), so ``adapt`` refits only on the rows its base head was trained on."""
    from role_classifier.modeling.training_features import TRAINING_FEATURES, TrainingFeatures

    file = tmp_path / "m" / TRAINING_FEATURES
    saved = TrainingFeatures.load(file)
    assert saved.titled.shape == saved.plain.shape == (20, trained.n_features)
    assert [trained.labels[i] for i in saved.y] == data.labels
    assert len(set(saved.sources)) == 1 and str(saved.sources[0]).endswith("train.csv")
    np.testing.assert_allclose(saved.titled, trained.training_features.titled, atol=2e-3)

    loaded.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / TRAINING_FEATURES).read_bytes() == file.read_bytes()
    texts = [p.description for p in data.postings]
    mine = loaded.adapt(texts[:12], data.labels[:12])
    assert mine.metadata["adapted"]["method"] == "refit"
    mine.save_pretrained(tmp_path / "copy")  # over the folder that held the base's file
    assert not (tmp_path / "copy" / TRAINING_FEATURES).exists()


def test_finetune_changes_the_backbone(train_csv: Path, tiny_config, tmp_path: Path) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    cfg = TrainConfig(
        window_tokens=32, calibration="dev", dev_fraction=0.25, finetune_epochs=1, finetune_lr=1e-3
    )
    clf = train(data, cfg, backbone=tiny_config.backbone)
    before = RoleClassifier(config=tiny_config, backend="torch").encoder.embed(["model serving"])
    after = clf.encoder.embed(["model serving"])
    assert not np.allclose(before, after)
    clf.save_pretrained(tmp_path / "ft")
    assert (tmp_path / "ft" / "backbone" / "model.safetensors").exists()
    loaded = RoleClassifier.from_pretrained(tmp_path / "ft", backend="torch")
    np.testing.assert_allclose(loaded.encoder.embed(["model serving"]), after, atol=1e-5)
    # the ONNX backend exports the fine-tuned weights, not the original ones
    fast = RoleClassifier.from_pretrained(tmp_path / "ft", backend="onnx").encoder
    assert float((fast.embed(["model serving"]) * after).sum()) > 0.98


def test_train_cli_refuses_existing_output_and_bad_data(train_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    result = CliRunner().invoke(app, ["train", str(train_csv), "--output", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    bad = _write(tmp_path / "bad.csv", [{"title": "t", "description": "d", "label": "Chef"}] * 2)
    result = CliRunner().invoke(app, ["train", str(bad), "--output", str(tmp_path / "new")])
    assert result.exit_code == 2 and "not in the taxonomy" in result.stderr
    assert not (tmp_path / "new").exists()


def test_anchored_head_with_no_data_weight_is_the_zero_shot_scorer(
    train_csv: Path, tiny_zero_shot: RoleClassifier
) -> None:
    from role_classifier.training import feature_matrix, fit_head

    data = load_training_data([train_csv], load_taxonomy())
    encoded = tiny_zero_shot.encode(data.postings)
    x = feature_matrix(tiny_zero_shot, encoded)
    y = np.array([tiny_zero_shot.labels.index(label) for label in data.labels])
    anchor = tiny_zero_shot.zero_shot_head()["weight"]
    head = fit_head(x, y, tiny_zero_shot.layout, TrainConfig(c=1e-9), anchor)
    np.testing.assert_allclose(head["weight"], anchor, atol=1e-4)
    # and the zero-shot head is the documented weighted sum of the score blocks
    from role_classifier.modeling.features import BLOCKS, ZERO_SHOT_WEIGHTS

    c = tiny_zero_shot.config
    parts = [tiny_zero_shot.score_components(e) for e in encoded]
    by_hand = np.array(
        [sum(getattr(c, ZERO_SHOT_WEIGHTS[b]) * p[b] for b in BLOCKS) for p in parts]
    )
    np.testing.assert_allclose(
        tiny_zero_shot.logits(encoded), by_hand / c.zero_shot_temperature, rtol=1e-4, atol=1e-4
    )
    free = fit_head(x, y, tiny_zero_shot.layout, TrainConfig(c=10.0), anchor)
    assert not np.allclose(free["weight"], anchor, atol=1e-2)


def test_cross_val_calibration_scores_every_row_out_of_fold(train_csv: Path, tiny_config) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    clf = train(data, TrainConfig(window_tokens=32), backbone=tiny_config.backbone)
    held_out = clf.metadata["held_out_metrics"]
    assert held_out["kind"] == "cross-val"
    # every posting once with its title and once without
    assert held_out["with_title"]["n"] == held_out["description_only"]["n"] == 20
    assert clf.config.temperature > 0 and clf.config.temperature_description_only > 0


def test_no_calibration_keeps_temperature_one(train_csv: Path, tiny_config) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    clf = train(
        data, TrainConfig(window_tokens=32, calibration="none"), backbone=tiny_config.backbone
    )
    assert clf.config.temperature == 1.0 and clf.metadata["held_out_metrics"] is None


def test_folds_keep_a_company_together(tmp_path: Path) -> None:
    from role_classifier.training import _folds

    rows = [dict(r, company=f"co{i % 6}") for i, r in enumerate(_rows(6))]
    path = _write(tmp_path / "c.csv", rows, ["title", "description", "label", "company"])
    data = load_training_data([path], load_taxonomy())
    assert len(set(data.groups)) == 6
    y = np.array([load_taxonomy().labels.index(label) for label in data.labels])
    folds = _folds(y, data.groups, TrainConfig(calibration_folds=3))
    assert len(folds) == 3
    for fit_part, held in folds:
        assert {data.groups[i] for i in fit_part}.isdisjoint(data.groups[i] for i in held)
    assert sorted(np.concatenate([held for _, held in folds]).tolist()) == list(range(len(y)))


def test_rows_without_a_company_are_their_own_group(train_csv: Path) -> None:
    data = load_training_data([train_csv], load_taxonomy())
    assert len(set(data.groups)) == len(data.groups) == 20


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"calibration": "isotonic"}, "calibration must be one of"),
        ({"calibration_folds": 1}, "at least 2"),
        ({"finetune_epochs": 1}, "needs calibration: dev"),
    ],
)
def test_bad_calibration_settings_are_rejected(fields: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        TrainConfig.from_dict(fields)


def test_model_card_shows_the_held_out_figures(train_csv: Path, tiny_config) -> None:
    from role_classifier.modeling.model_card import model_card

    data = load_training_data([train_csv], load_taxonomy())
    clf = train(data, TrainConfig(window_tokens=32), backbone=tiny_config.backbone)
    card = model_card(clf, "role-classifier train train.csv --output m")
    held = clf.metadata["held_out_metrics"]["description_only"]
    assert "Out-of-fold scores of every training posting" in card
    assert f"| description only | 20 | {held['accuracy']:.3f} | {held['macro_f1']:.3f} |" in card
    assert "role-classifier train train.csv --output m" in card


def test_lora_finetune_saves_only_a_small_adapter(
    train_csv: Path, tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tiny BERT stands in for the bundled backbone, which only the adapter is saved against
    monkeypatch.setattr(
        "role_classifier.encoders.torch_backend.bundled_backbone_path",
        lambda: Path(tiny_config.backbone),
    )
    data = load_training_data([train_csv], load_taxonomy())
    cfg = TrainConfig(
        window_tokens=32,
        calibration="dev",
        dev_fraction=0.25,
        finetune_epochs=1,
        finetune_lr=1e-2,
        finetune_lora_rank=2,
    )
    clf = train(data, cfg)
    before = RoleClassifier(config=tiny_config, backend="torch").encoder.embed(["model serving"])
    after = clf.encoder.embed(["model serving"])
    assert not np.allclose(before, after)
    clf.save_pretrained(tmp_path / "lora")
    adapter = tmp_path / "lora" / "adapter" / "adapter_model.safetensors"
    assert adapter.exists() and not (tmp_path / "lora" / "backbone").exists()
    backbone_bytes = (Path(tiny_config.backbone) / "model.safetensors").stat().st_size
    assert adapter.stat().st_size < backbone_bytes / 2
    loaded = RoleClassifier.from_pretrained(tmp_path / "lora", backend="torch")
    np.testing.assert_allclose(loaded.encoder.embed(["model serving"]), after, atol=1e-5)
    texts = [p.description for p in data.postings[:4]]
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    # an adapter model never shares encodings with the plain backbone
    assert (
        loaded.encoding_key()
        != RoleClassifier(config=dataclasses.replace(loaded.config, adapter="")).encoding_key()
    )


def test_finetune_keeps_the_epoch_with_the_lowest_dev_loss(tiny_config) -> None:
    from role_classifier.finetune import finetune_backbone

    clf = RoleClassifier(config=tiny_config, backend="torch")
    labels = load_taxonomy().labels
    texts = list(TEXTS.items())

    def docs(n: int) -> tuple[list, list[int]]:
        out, y = [], []
        for i in range(n):
            label, text = texts[i % len(texts)]
            ids = clf.encoder.tokenizer(f"{text} team {i}", add_special_tokens=False)["input_ids"]
            out.append((None, [ids[:12], ids[12:]]))
            y.append(labels.index(label))
        return out, y

    train_docs, train_y = docs(20)
    dev_docs, dev_y = docs(10)
    result = finetune_backbone(
        clf.encoder,
        train_docs,
        train_y,
        len(labels),
        epochs=4,
        lr=5e-2,  # large enough that the dev loss is not monotone
        show_progress=False,
        dev_docs=dev_docs,
        dev_labels=dev_y,
    )
    assert len(result.train_loss) == len(result.dev_loss) == 4
    assert result.best_epoch == int(np.argmin(result.dev_loss)) + 1
    assert result.kept_dev_loss == pytest.approx(min(result.dev_loss), rel=1e-5)


def test_calibration_sorts_held_out_rows_by_whether_they_have_a_title(
    tmp_path: Path, tiny_config
) -> None:
    """Untitled training rows tune the description-only temperature, as they are scored."""
    rows = _rows()
    for i, row in enumerate(rows):
        if i % 2:
            row["title"] = ""
    data = load_training_data([_write(tmp_path / "mixed.csv", rows)], load_taxonomy())
    cfg = TrainConfig(window_tokens=32, description_only_view=False, calibration_folds=2)
    clf = train(data, cfg, backbone=tiny_config.backbone)
    held_out = clf.metadata["held_out_metrics"]
    titled = sum(1 for r in rows if r["title"])
    assert held_out["with_title"]["n"] == titled
    assert held_out["description_only"]["n"] == len(rows) - titled


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"seed": "abc"}, "seed must be an integer, got 'abc'"),
        ({"c": "strong"}, "c must be a number"),
        ({"anchor_zero_shot": "yes"}, "anchor_zero_shot must be true or false"),
        ({"seed": True}, "seed must be an integer"),
    ],
)
def test_train_config_rejects_values_of_the_wrong_type(data: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        TrainConfig.from_dict(data, source="train.yaml")
    assert TrainConfig.from_dict({"c": 1}).c == 1  # an integer where a number is wanted is fine


def test_source_weights_balance_sources_and_average_one() -> None:
    from role_classifier.training import source_weights

    assert source_weights(["a", "b"], 0.0) is None
    w = source_weights(["big"] * 9 + ["small"], 1.0)
    assert w is not None and abs(w.mean() - 1) < 1e-9
    assert abs(w[:9].sum() - w[9]) < 1e-9  # each source carries the same total weight
    half = source_weights(["big"] * 9 + ["small"], 0.5)
    assert half is not None and w[9] > half[9] > half[0]


def test_read_and_source_balance_are_checked() -> None:
    with pytest.raises(ValueError, match="read must be all or duties"):
        TrainConfig(read="summary")
    with pytest.raises(ValueError, match="source_balance must be between 0 and 1"):
        TrainConfig(source_balance=2.0)
