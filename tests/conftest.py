"""Shared fixtures: a tiny randomly initialised BERT, so unit tests need no download and run fast."""

from __future__ import annotations

import os
import string
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from role_classifier.modeling.model import ModelConfig, RoleClassifier

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


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny models run fastest single-threaded; two threads on a shared 2-core box thrash."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a ~150-word vocabulary, saved as a transformers directory."""
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
