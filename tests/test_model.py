from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from role_classifier.modeling.model import ModelConfig, RoleClassifier
from role_classifier.text import EmptyTextError, Posting

ADS = [
    "We build rag pipelines with a vector database and llm apis for our product.",
    "Train machine learning models in pytorch. " * 30,  # long: several windows
    "Nurse wanted for a night shift.",
]


@pytest.mark.torch
@pytest.mark.parametrize("fixture", ["tiny_zero_shot", "tiny_trained"])
def test_predict_proba_rows_sum_to_one(fixture: str, request: pytest.FixtureRequest) -> None:
    clf: RoleClassifier = request.getfixturevalue(fixture)
    proba = clf.predict_proba(ADS)
    assert proba.shape == (3, len(clf.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (proba >= 0).all()


@pytest.mark.torch
@pytest.mark.parametrize("fixture", ["tiny_zero_shot", "tiny_trained"])
def test_single_string_and_list_agree(fixture: str, request: pytest.FixtureRequest) -> None:
    clf: RoleClassifier = request.getfixturevalue(fixture)
    single = clf.predict(ADS[0])
    assert isinstance(single, str)
    assert clf.predict([ADS[0]]) == [single]
    np.testing.assert_allclose(clf.predict_proba(ADS[0]), clf.predict_proba([ADS[0]]))


def test_batching_does_not_change_answers(tiny_trained: RoleClassifier) -> None:
    together = tiny_trained.predict_proba(ADS)
    apart = np.vstack([tiny_trained.predict_proba(a) for a in ADS])
    np.testing.assert_allclose(together, apart, atol=1e-5)


def test_titles_change_the_input(tiny_trained: RoleClassifier) -> None:
    a = tiny_trained.predict_proba([ADS[0]], titles=["AI Engineer"])
    b = tiny_trained.predict_proba(Posting(ADS[0], "AI Engineer"))
    c = tiny_trained.predict_proba(ADS[0])
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, c)


def test_long_ad_is_windowed_not_truncated(tiny_zero_shot: RoleClassifier) -> None:
    enc = tiny_zero_shot.encode([Posting(ADS[1])])[0]
    assert len(enc.windows) > 1
    huge = "Deploy models to kubernetes serving. " * 40_000  # ~1.5 MB
    enc = tiny_zero_shot.encode([Posting(huge)])[0]
    assert len(enc.windows) == tiny_zero_shot.config.max_windows
    assert enc.truncated


def test_empty_posting_is_an_error(tiny_zero_shot: RoleClassifier) -> None:
    with pytest.raises(EmptyTextError):
        tiny_zero_shot.predict(["<div><br></div>  "])


def test_other_threshold_forces_other(tiny_trained: RoleClassifier) -> None:
    proba = tiny_trained.predict_proba(ADS)
    saved = tiny_trained.config.other_threshold
    try:
        tiny_trained.config.other_threshold = 1.01
        assert set(tiny_trained.labels[i] for i in tiny_trained.decide(proba)) == {"Other"}
    finally:
        tiny_trained.config.other_threshold = saved


def test_classify_gives_label_runner_ups_and_evidence(tiny_trained: RoleClassifier) -> None:
    pred = tiny_trained.classify(Posting(ADS[1], "ML Engineer"), top_k=2, evidence=2)
    assert pred.label in tiny_trained.labels
    assert pred.confidence == pytest.approx(pred.scores[pred.label])
    assert len(pred.runner_ups) == 2 and pred.label not in [k for k, _ in pred.runner_ups]
    assert len(pred.evidence) <= 2
    assert all(s in ADS[1] for s in pred.evidence)


def _mentions_only(tiny_config: ModelConfig, tiny_zero_shot: RoleClassifier) -> RoleClassifier:
    """Zero-shot scoring on role names alone (in the description and the title)."""
    weights = dict.fromkeys(
        ("title_weight", "desc_weight", "desc_title_weight", "keyword_weight"), 0.0
    )
    config = dataclasses.replace(tiny_config, **weights, mention_weight=1.0)
    return RoleClassifier(config=config, encoder=tiny_zero_shot.encoder, backend="torch")


def test_evidence_is_what_the_deciding_head_scores_for_the_label(
    tiny_config: ModelConfig, tiny_zero_shot: RoleClassifier
) -> None:
    clf = _mentions_only(tiny_config, tiny_zero_shot)
    ad = (
        "We are a friendly team in a sunny city by the sea. "
        "As our new MLOps Engineer you will keep the lights on every day. "
        "We offer a good salary, remote days and generous benefits."
    )
    pred = clf.classify(ad, evidence=3)
    assert pred.label == "MLOps Engineer"
    # only the sentence that names the role supports it; the others score nothing for it
    assert pred.evidence == ["As our new MLOps Engineer you will keep the lights on every day."]


def test_evidence_is_empty_when_no_sentence_supports_the_label(
    tiny_config: ModelConfig, tiny_zero_shot: RoleClassifier
) -> None:
    clf = _mentions_only(tiny_config, tiny_zero_shot)
    clf.config.title_keyword_weight = 1.0  # the title decides; no sentence of the body helps
    ad = "We are a friendly team in a sunny city. We offer a good salary and generous benefits."
    pred = clf.classify(ad, title="MLOps Engineer", evidence=3)
    assert pred.label == "MLOps Engineer"
    assert pred.evidence == []


def test_predict_takes_one_title(tiny_trained: RoleClassifier) -> None:
    one = tiny_trained.predict_proba(ADS[0], title="MLOps Engineer")
    listed = tiny_trained.predict_proba([ADS[0]], titles=["MLOps Engineer"])
    np.testing.assert_allclose(one, listed)
    assert (
        tiny_trained.predict(ADS[0], title="MLOps Engineer")
        == tiny_trained.predict([Posting(ADS[0], "MLOps Engineer")])[0]
    )
    with pytest.raises(ValueError, match="title="):
        tiny_trained.predict([ADS[0]], title="x")


def test_save_and_load_round_trip(tiny_trained: RoleClassifier, tmp_path: Path) -> None:
    tiny_trained.save_pretrained(tmp_path / "m", model_card="# card\n")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {
        "config.json",
        "head.safetensors",
        "README.md",
        "backbone",  # a non-bundled backbone travels along
    }
    loaded = RoleClassifier.from_pretrained(tmp_path / "m", backend="torch")
    assert loaded.labels == tiny_trained.labels
    np.testing.assert_allclose(
        loaded.predict_proba(ADS), tiny_trained.predict_proba(ADS), atol=1e-5
    )


def test_from_pretrained_rejects_non_model_dir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        RoleClassifier.from_pretrained(tmp_path)


def test_description_only_rows_use_their_own_temperature(tiny_trained: RoleClassifier) -> None:
    z = np.array([[2.0, 0.0] + [0.0] * (len(tiny_trained.labels) - 2)] * 2)
    saved = (tiny_trained.config.temperature, tiny_trained.config.temperature_description_only)
    try:
        tiny_trained.config.temperature, tiny_trained.config.temperature_description_only = 1.0, 4.0
        p = tiny_trained.proba_from_logits(z, np.array([True, False]))
        assert p[0, 0] > p[1, 0]  # the hotter description-only temperature is less confident
        tiny_trained.config.temperature_description_only = 0.0  # 0: fall back to `temperature`
        p = tiny_trained.proba_from_logits(z, np.array([True, False]))
        np.testing.assert_allclose(p[0], p[1])
    finally:
        tiny_trained.config.temperature, tiny_trained.config.temperature_description_only = saved


def test_from_pretrained_reads_built_in_names_in_any_casing(tmp_path: Path) -> None:
    assert RoleClassifier.from_pretrained("Zero-Shot").is_zero_shot
    with pytest.raises(ValueError, match="'default'.*'zero-shot'"):
        RoleClassifier.from_pretrained(tmp_path / "missing")
