"""Shared fixtures: a tiny randomly initialised BERT, so unit tests need no download and run fast.

Tests by what they need: torch and transformers are imported inside the fixtures that build the
tiny BERT, never at the top, so the tests that need no torch run on the base install
(``pip install role-classifier`` plus pytest; ``.ci/run`` does, with ``-m "not torch"``).

* a test that uses the tiny BERT (any fixture built on ``tiny_backbone``) is marked ``torch``
  here, and skipped where torch is not installed;
* a test that needs torch otherwise says so with ``@pytest.mark.torch``;
* a test module that imports an optional package at its top is listed in :data:`MODULE_NEEDS`
  and not collected where that package is missing (the summary names it).
"""

from __future__ import annotations

import importlib.util
import os
import string
from pathlib import Path

import numpy as np
import pytest

from role_classifier.modeling.model import ModelConfig, RoleClassifier

TORCH_FIXTURE = "tiny_backbone"
"""Every test whose fixtures include this one needs torch and transformers."""

MODULE_NEEDS = {
    "test_dataframe.py": ("pandas",),
    "test_ray_engine.py": ("pandas",),
    "test_serve.py": ("fastapi", "httpx", "multipart"),
    "test_shares.py": ("pandas",),
    "test_threads.py": ("torch",),
}
"""Test modules that import optional packages at their top, and those packages."""

_NOT_COLLECTED: list[str] = []


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out a module whose optional packages are missing (said in the summary)."""
    missing = _missing(*MODULE_NEEDS.get(collection_path.name, ()))
    if missing:
        _NOT_COLLECTED.append(f"{collection_path.name} (needs {', '.join(missing)})")
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``torch`` every test built on the tiny BERT; skip the torch tests without torch."""
    no_torch = _missing("torch", "transformers")
    skip = pytest.mark.skip(reason=f"needs {' and '.join(no_torch)} (the train extra)")
    for item in items:
        if TORCH_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)
        if no_torch and item.get_closest_marker("torch") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NOT_COLLECTED:
        terminalreporter.write_line(
            "not collected, optional packages missing: " + "; ".join(_NOT_COLLECTED)
        )


WORDS = """
the a an and or of to in for with on at by we you our your is are be will build run train
deploy model models machine learning ml ai engineer engineering research researcher
prompt prompts agent agents llm llms data pipeline pipelines production python pytorch
kubernetes serving rag vector database api apis team company benefits salary remote
paper papers nurse sales analyst dashboard sql cloud ops operations platform
""".split()


def _vocab() -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    pieces = [f"##{c}" for c in string.ascii_lowercase + string.digits]
    return special + chars + pieces + sorted(set(WORDS))


def pytest_configure(config: pytest.Config) -> None:
    """Built ONNX files go to a folder of the test run's own (kept between runs, never ~/.cache);
    subprocesses that tests start inherit it."""
    if "ROLE_CLASSIFIER_CACHE" not in os.environ:
        cache = Path(config.rootpath) / ".pytest_cache" / "role-classifier-onnx"
        os.environ["ROLE_CLASSIFIER_CACHE"] = str(cache)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a ~150-word vocabulary, saved as a transformers directory.

    Tiny models run fastest single-threaded (two threads on a shared 2-core box thrash), so
    torch gets one thread from here on.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("tiny-bert")
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    tokenizer.save_pretrained(str(path))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_config(tiny_backbone: Path) -> ModelConfig:
    """Model settings that point at the tiny backbone, with small windows so ads split."""
    return ModelConfig(backbone=str(tiny_backbone), window_tokens=32, max_windows=8)


@pytest.fixture(scope="session")
def tiny_zero_shot(tiny_config: ModelConfig) -> RoleClassifier:
    """A zero-shot classifier on the tiny backbone (session-wide: the backbone loads once)."""
    return RoleClassifier(config=tiny_config, backend="torch")


@pytest.fixture(scope="session")
def tiny_trained(tiny_config: ModelConfig, tiny_zero_shot: RoleClassifier) -> RoleClassifier:
    """A classifier with a random linear head of the right shape on the tiny backbone."""
    n_labels = len(tiny_zero_shot.labels)
    rng = np.random.default_rng(0)
    head = {
        "weight": rng.normal(size=(n_labels, tiny_zero_shot.n_features)).astype(np.float32),
        "bias": rng.normal(size=n_labels).astype(np.float32),
    }
    return RoleClassifier(
        config=tiny_config, head=head, encoder=tiny_zero_shot.encoder, backend="torch"
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_trained: RoleClassifier) -> Path:
    """``tiny_trained`` saved with save_pretrained, for CLI tests (``--model DIR``)."""
    path = tmp_path_factory.mktemp("tiny-model")
    tiny_trained.save_pretrained(path, model_card="# tiny test model\n")
    return path
