"""The sentence-section reader and reading a posting's duties (``read: duties``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from role_classifier.modeling.model import RoleClassifier
from role_classifier.sections import (
    NO_DUTY_TEXT,
    SHIPPED_READER,
    SectionReader,
    read_duties,
    sentence_features,
)

AD = [
    "About Acme",
    "Acme makes accounting software for bakeries across Europe.",
    "We were founded in 2011 and have 300 employees.",
    "What you will do",
    "Train and evaluate ranking models in PyTorch.",
    "Own the feature pipelines our models are trained on.",
    "Requirements",
    "3+ years building machine learning models in production.",
    "Benefits",
    "Health, dental and vision insurance.",
    "Acme is an equal opportunity employer.",
]


def _toy_reader() -> SectionReader:
    docs = [AD] * 3
    tags = [["C", "C", "C", "D", "D", "D", "D", "D", "B", "B", "B"]] * 3
    return SectionReader.fit(docs, tags, n_features=2**12)


def test_shipped_reader_finds_the_duties_of_an_ad() -> None:
    reader = SectionReader.load(SHIPPED_READER)
    tags = reader.tag(AD)
    assert tags[4:6] == ["D", "D"]  # the duties
    assert tags[7] == "D"  # a requirement
    assert tags[9:] == ["B", "B"]  # benefits and the EEO line
    assert "C" in tags[:3]  # the company blurb


def test_save_and_load_give_the_same_tags(tmp_path) -> None:
    reader = _toy_reader()
    reader.save(tmp_path)
    again = SectionReader.load(tmp_path)
    np.testing.assert_allclose(again.proba(AD), reader.proba(AD), atol=1e-2)
    assert again.tag(AD) == reader.tag(AD)


def test_features_carry_the_heading_above_and_the_position() -> None:
    feats = sentence_features(["Benefits", "We cover your dental care.", "Apply now"])
    assert "h_benefits" in feats[1].split()
    assert feats[0].split()[-1] == "pos_0" and feats[2].split()[-1] == "pos_6"


def test_read_duties_keeps_duty_sentences_in_order() -> None:
    kept, notes = read_duties(_toy_reader(), [AD])
    assert (
        kept[0][0] == "What you will do" and "Health, dental and vision insurance." not in kept[0]
    )
    assert notes == [None]


def test_an_ad_without_duty_text_is_read_whole_with_a_note() -> None:
    reader = _toy_reader()
    blurb = ["About Acme", "Acme makes accounting software for bakeries across Europe."]
    blurb.append("We were founded in 2011 and have 300 employees.")
    benefits = [
        "Benefits",
        "Health, dental and vision insurance.",
        "Acme is an equal opportunity employer.",
    ]
    kept, notes = read_duties(reader, [blurb, benefits, []])
    assert kept == [blurb, benefits, []]
    assert notes == [NO_DUTY_TEXT, NO_DUTY_TEXT, None]


def test_a_short_ad_is_read_whole_without_a_note() -> None:
    two = ["About Acme", "Health, dental and vision insurance."]
    kept, notes = read_duties(_toy_reader(), [two])
    assert kept == [two] and notes == [None]


def test_an_ad_the_reader_cannot_tell_apart_is_read_whole_without_a_note() -> None:
    flat = SectionReader(np.zeros((3, 16)), np.zeros(3), 16)  # every section equally likely
    kept, notes = read_duties(flat, [AD])
    assert kept == [AD] and notes == [None]


def test_a_model_reading_duties_warns_when_there_are_none(tiny_zero_shot: RoleClassifier) -> None:
    clf = RoleClassifier(
        config=dataclasses.replace(tiny_zero_shot.config, read="duties"), backend="torch"
    )
    clf.share_encoder(tiny_zero_shot)
    clf._sections = _toy_reader()
    blurb = "About Acme\nAcme makes accounting software for bakeries.\nWe were founded in 2011."
    pred, fine = clf.classify([blurb, "\n".join(AD)], evidence=0)
    assert pred.warning == NO_DUTY_TEXT and pred.label in clf.labels
    assert fine.warning is None
