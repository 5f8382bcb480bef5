"""The few tests that load the real all-MiniLM-L6-v2 backbone (``pytest -m slow``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.modeling.model import RoleClassifier
from role_classifier.text import Posting

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def default_model() -> RoleClassifier:
    return RoleClassifier.from_pretrained("default")


def test_backbone_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from role_classifier.encoders import bundled_backbone_path
    from role_classifier.encoders.torch_backend import TorchEncoder

    texts = ["MLOps Engineer", "We build retrieval-augmented generation with pgvector."]
    ours = TorchEncoder().embed(texts)
    theirs = SentenceTransformer(str(bundled_backbone_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert abs(ours - theirs).max() < 1e-5


@pytest.mark.parametrize(
    ("file", "label"), [("ad_ai_engineer.txt", "AI Engineer"), ("ad_mlops.txt", "MLOps Engineer")]
)
def test_default_model_on_sample_ads(default_model: RoleClassifier, file: str, label: str) -> None:
    text = (SAMPLES / file).read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    assert default_model.predict(Posting(body, title)) == label
    assert default_model.predict(body) == label  # description alone


def test_zero_shot_reads_obvious_ads() -> None:
    clf = RoleClassifier.from_pretrained("zero-shot")
    ads = [
        "You will write and iterate system prompts and few-shot examples for our LLM assistant, "
        "and build rubrics to grade its answers.",
        "Registered nurse for the night shift in our cardiology ward; patient care and charting.",
    ]
    assert clf.predict(ads) == ["Prompt Engineer", "Other"]


def test_cli_classify_json_on_default_model() -> None:
    result = CliRunner().invoke(
        app, ["classify", "--json", "--file", str(SAMPLES / "ad_mlops.txt")]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["label"] == "MLOps Engineer"
    assert set(out["scores"]) == set(RoleClassifier.from_pretrained("default").labels)
    assert out["evidence"] and all(
        s in (SAMPLES / "ad_mlops.txt").read_text() for s in out["evidence"]
    )


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_top_evidence_of_a_clear_ad_names_the_roles_work(backend: str) -> None:
    clf = RoleClassifier.from_pretrained("default", backend=backend)
    text = (SAMPLES / "ad_mlops.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    pred = clf.classify(Posting(body, title), evidence=3)
    assert pred.label == "MLOps Engineer"
    work = ("deploy", "ci/cd", "registry", "monitor", "production", "kubernetes", "mlops")
    assert pred.evidence and any(w in pred.evidence[0].lower() for w in work), pred.evidence
    assert not any("salary" in s or "leave" in s for s in pred.evidence)  # no boilerplate
