"""The expert label files in data/labels: valid roles, two readers, adjudication recorded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from role_classifier.taxonomy import load_taxonomy

LABELS = Path(__file__).resolve().parents[1] / "data" / "labels"
TWO_READER_FILES = [
    "source_validation.csv",
    "linkedin_validation.csv",
    "linkedin2_train.csv",
    "real_feed_sample.csv",
    "real_feed_train.csv",
    "real_feed_active.csv",
]


def _rows(name: str) -> list[dict[str, str]]:
    with open(LABELS / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", TWO_READER_FILES)
def test_two_reader_file_is_consistent(name: str) -> None:
    """Every label is a role; agreeing readers give the label; disagreements are adjudicated."""
    roles = set(load_taxonomy().labels)
    rows = _rows(name)
    assert rows, name
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"{name}: repeated ids"
    for r in rows:
        assert {r["label"], r["reader_a"], r["reader_b"]} <= roles, (name, r["id"])
        if r["reader_a"] == r["reader_b"]:
            assert r["label"] == r["reader_a"], (name, r["id"])
        else:
            assert r["adjudicated"] == "yes", (name, r["id"])
            assert r["label"] in (r["reader_a"], r["reader_b"]), (name, r["id"])


def test_validation_rows_are_never_training_rows() -> None:
    """The per-source validation ids are disjoint from the read training postings."""
    train = {r["id"] for r in _rows("real_feed_train.csv")}
    train |= {r["id"] for r in _rows("real_feed_sample.csv") if r["split"] == "train"}
    train |= {r["id"] for r in _rows("linkedin2_train.csv")}
    validation = {r["id"] for r in _rows("source_validation.csv")}
    validation |= {r["id"] for r in _rows("real_feed_sample.csv") if r["split"] == "test"}
    validation |= {r["id"] for r in _rows("linkedin_validation.csv")}
    assert not train & validation


def test_linkedin_draw_matches_its_labels() -> None:
    drawn = [r["id"] for r in _rows("linkedin_draw.csv")]
    assert drawn == [r["id"] for r in _rows("linkedin_validation.csv")]
    drawn = [r["id"] for r in _rows("linkedin2_train_draw.csv")]
    assert drawn == [r["id"] for r in _rows("linkedin2_train.csv")]
