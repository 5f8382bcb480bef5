"""One source of truth for the training defaults: ``TrainConfig()`` is ``configs/train.yaml``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import role_classifier
from role_classifier.training_config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = Path(role_classifier.__file__).parent / "configs" / "train.yaml"
YAMLS = [p for p in (ROOT / "configs" / "train.yaml", SHIPPED) if p.is_file()]


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_train_yaml_is_train_config_defaults_field_by_field(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = TrainConfig()
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert sorted(data) == sorted(fields), "the YAML lists every field of TrainConfig, no other"
    differ = {
        name: (data[name], getattr(defaults, name))
        for name in fields
        if data[name] != getattr(defaults, name)
        or type(data[name]) is not type(getattr(defaults, name))
    }
    assert not differ, f"{path.name} (yaml, TrainConfig()) disagree: {differ}"
    assert TrainConfig.from_yaml(path) == defaults


def test_the_packaged_train_yaml_is_the_repository_one() -> None:
    repo = ROOT / "configs" / "train.yaml"
    if not repo.is_file() or not SHIPPED.is_file() or repo.resolve() == SHIPPED.resolve():
        pytest.skip("one copy only")
    assert SHIPPED.read_text(encoding="utf-8") == repo.read_text(encoding="utf-8")


def test_the_default_model_folder_is_defined_once() -> None:
    """``DEFAULT_MODEL_DIR`` lives in ``modeling/names.py``; the rest import it."""
    from role_classifier.modeling import names

    assert (names.DEFAULT_MODEL_DIR / "config.json").is_file()
    package = Path(role_classifier.__file__).parent
    defining = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if '/ "default_model"' in p.read_text(encoding="utf-8")
    ]
    assert defining == ["modeling/names.py"]
