"""Notebooks: label_dataframe (DataFrame in, DataFrame out) and predict on a pandas Series."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import role_classifier
from role_classifier import labelling
from role_classifier._extras import MissingExtraError
from role_classifier.errors import UserError
from role_classifier.labelling import (
    ColumnClashError,
    LabelCsvError,
    LabelOptions,
    MissingColumnError,
    label_csv,
    label_dataframe,
    output_columns,
)
from role_classifier.modeling.model import RoleClassifier
from role_classifier.text import EmptyTextError, InvalidTextError, Posting

GOOD = [
    "Train machine learning models in pytorch and deploy them to production.",
    "We build rag pipelines with a vector database and llm apis.",
    "Run kubernetes serving for our models in production.",
]
GERMAN = "Wir suchen eine Ingenieurin für maschinelles Lernen in Berlin und München, ab sofort."
FLOATS = ["confidence", "runner_up_score"]


def _bad_frame() -> pd.DataFrame:
    """One good row and one of every kind of bad cell, under a string index."""
    cells = [GOOD[0], np.nan, None, "", "   \n\t", "<div><br></div>", 42, 3.5, ["a list"], GERMAN]
    index = [f"row-{c}" for c in "abcdefghij"]
    return pd.DataFrame(
        {"id": range(10), "description": pd.Series(cells, index=index, dtype=object)},
        index=index,
    )


def test_every_bad_cell_is_an_error_row_and_no_row_is_lost(tiny_trained: RoleClassifier) -> None:
    df = _bad_frame()
    out = label_dataframe(df, model=tiny_trained)
    assert out is not df and list(out.index) == list(df.index)
    pd.testing.assert_frame_equal(out[list(df.columns)], df)  # input columns untouched
    assert [None if pd.isna(e) else e for e in out["error"]] == [
        None,
        "empty text",  # NaN: an empty cell, as pandas reads one from a CSV
        "empty text",
        "empty text",
        "empty text",
        "no text left after removing HTML and whitespace",
        "text is not a string (int)",
        "text is not a string (float)",
        "text is not a string (list)",
        "warning: not English (de)",
    ]
    decided = out["predicted_role"]
    assert decided["row-a"] in tiny_trained.labels and decided["row-j"] in tiny_trained.labels
    assert decided.iloc[1:9].isna().all() and out["confidence"].iloc[1:9].isna().all()
    assert 0 < out.loc["row-a", "confidence"] <= 1


def test_columns_are_the_inputs_then_label_csvs_in_its_order(
    tiny_trained: RoleClassifier,
) -> None:
    df = pd.DataFrame({"title": ["ML Engineer", "x"], "description": GOOD[:2], "z": [1, 2]})
    kw = dict(top_k=2, min_confidence=0.3, evidence=1, all_scores=True)
    out = label_dataframe(df, model=tiny_trained, **kw)  # type: ignore[arg-type]
    added = output_columns(2, min_confidence=True, evidence=True, score_labels=tiny_trained.labels)
    assert added == LabelOptions(text_column="description", **kw).columns(tiny_trained.labels)
    assert list(out.columns) == ["title", "description", "z", *added]
    scores = out[[f"score_{label}" for label in tiny_trained.labels]]
    assert np.allclose(scores.sum(axis=1), 1.0)
    assert all(isinstance(e, list) for e in out["evidence"])


def test_numeric_columns_are_floats_even_when_every_row_failed(
    tiny_trained: RoleClassifier,
) -> None:
    df = pd.DataFrame({"description": [None, ""]})
    out = label_dataframe(df, model=tiny_trained, top_k=2, all_scores=True)
    floats = [*FLOATS, "runner_up_2_score", *(f"score_{x}" for x in tiny_trained.labels)]
    assert all(out[c].dtype == np.float64 for c in floats), out.dtypes
    assert out[floats].isna().all().all()
    ok = label_dataframe(pd.DataFrame({"description": GOOD}), model=tiny_trained)
    assert all(ok[c].dtype == np.float64 for c in FLOATS)
    assert ok["predicted_role"].dtype != np.float64 and ok["error"].isna().all()


def test_an_empty_frame_gives_the_columns_and_no_rows(tiny_trained: RoleClassifier) -> None:
    out = label_dataframe(pd.DataFrame({"description": []}), model=tiny_trained)
    assert len(out) == 0 and list(out.columns) == ["description", *output_columns(1)]
    assert out["confidence"].dtype == np.float64


def test_a_custom_index_with_repeats_is_kept(tiny_trained: RoleClassifier) -> None:
    index = pd.Index([30, 10, 30, 20], name="posting_id")
    df = pd.DataFrame({"description": [GOOD[0], "", GOOD[1], GOOD[2]]}, index=index)
    out = label_dataframe(df, model=tiny_trained, batch_size=3)  # two batches
    assert out.index.equals(index) and out.index.name == "posting_id"
    assert list(out["error"].isna()) == [True, False, True, True]


def test_same_values_as_label_csv(tiny_trained: RoleClassifier, tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "title": ["ML Engineer", np.nan, "AI Engineer", "", "Nurse"],
            "description": [GOOD[0], GOOD[1], None, "<p></p>", GOOD[2]],
        }
    )
    df.to_csv(tmp_path / "in.csv", index=False)  # NaN and None: empty cells
    kw = dict(text_column="description", title_column="title", top_k=2, all_scores=True)
    label_csv(tmp_path / "in.csv", tmp_path / "out.jsonl", model=tiny_trained, **kw)  # type: ignore[arg-type]
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    want = [json.loads(line) for line in lines]
    out = label_dataframe(df, model=tiny_trained, **kw)  # type: ignore[arg-type]
    for got, row in zip(out.to_dict("records"), want, strict=True):
        for col in output_columns(2, score_labels=tiny_trained.labels):
            value = None if pd.isna(got[col]) else got[col]
            value = round(value, 4) if isinstance(value, float) else value
            assert value == row[col], (col, got, row)
    assert want[2]["error"] == "warning: empty text; classified from the title alone"


def test_title_column_default_present_absent_explicit_and_none(
    tiny_trained: RoleClassifier,
) -> None:
    df = pd.DataFrame({"title": ["ML Engineer", np.nan], "description": ["", GOOD[0]]})
    out = label_dataframe(df, model=tiny_trained)  # the default "title" column is read
    assert out["error"][0] == "warning: empty text; classified from the title alone"
    assert pd.isna(out["error"][1]) and out["predicted_role"].notna().all()
    no_titles = label_dataframe(df, model=tiny_trained, title_column=None)
    assert no_titles["error"][0] == "empty text"
    alone = label_dataframe(df.drop(columns="title"), model=tiny_trained)  # default, absent
    assert alone["error"][0] == "empty text" and pd.isna(alone["error"][1])
    with pytest.raises(MissingColumnError, match=r"no title column 'headline'.*'description'"):
        label_dataframe(df, model=tiny_trained, title_column="headline")
    with pytest.raises(MissingColumnError, match="no title column 'title'"):  # named: must exist
        label_dataframe(df.drop(columns="title"), model=tiny_trained, title_column="title")


def test_a_missing_text_column_names_it_and_the_columns(tiny_trained: RoleClassifier) -> None:
    df = pd.DataFrame({"title": ["x"], "body": ["y"]})
    with pytest.raises(MissingColumnError) as info:
        label_dataframe(df, model=tiny_trained)
    assert isinstance(info.value, UserError)
    assert (
        str(info.value) == "no text column 'description'; the input's columns are: 'title', 'body'"
    )
    out = label_dataframe(df, "body", model=tiny_trained)  # positional, as label-csv's column
    assert out["predicted_role"].notna().all()


def test_options_object_and_the_options_that_need_a_file(tiny_trained: RoleClassifier) -> None:
    df = pd.DataFrame({"text": GOOD[:2]})
    opts = LabelOptions(text_column="text", top_k=0)
    out = label_dataframe(df, options=opts, model=tiny_trained)
    assert list(out.columns) == ["text", *opts.columns()]
    with pytest.raises(TypeError, match="not both.*top_k"):
        label_dataframe(df, options=opts, model=tiny_trained, top_k=2)
    with pytest.raises(TypeError, match="not both.*text_column"):
        label_dataframe(df, "text", options=opts, model=tiny_trained)
    with pytest.raises(LabelCsvError, match="filters: for files.*pandas"):
        label_dataframe(df, "text", model=tiny_trained, filters={"text": ["x"]})
    with pytest.raises(LabelCsvError, match="top_k must be at least 0"):
        label_dataframe(df, "text", model=tiny_trained, top_k=-1)
    with pytest.raises(ColumnClashError, match="'predicted_role'"):
        label_dataframe(out, "text", model=tiny_trained)  # an earlier output


def test_without_pandas_it_says_pip_install_pandas(
    tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a)
    )
    with pytest.raises(MissingExtraError, match="pip install pandas"):
        label_dataframe(pd.DataFrame({"description": GOOD}), model=tiny_trained)


def test_importing_the_package_imports_neither_pandas_nor_rich() -> None:
    code = (
        "import sys, role_classifier, role_classifier.labelling, role_classifier.modeling.model; "
        "role_classifier.label_dataframe; print([m for m in ('pandas', 'rich') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert role_classifier.label_dataframe is labelling.label_dataframe


# -- predict on a Series ---------------------------------------------------------------------------
def test_predict_names_the_series_index_labels_of_bad_texts(
    tiny_trained: RoleClassifier,
) -> None:
    texts = pd.Series([GOOD[0], np.nan, "", GOOD[1], 7], index=["w", "x", "y", "z", "v"])
    for call in (tiny_trained.predict, tiny_trained.predict_proba, tiny_trained.classify):
        with pytest.raises(InvalidTextError) as info:
            call(texts)
        assert info.value.positions == ["x", "y", "v"]
        assert isinstance(info.value, EmptyTextError) and isinstance(info.value, UserError)
    message = str(info.value)
    assert message.startswith(
        "3 of 5 texts cannot be classified: index 'x' (empty text), index 'y' (empty text), "
        "index 'v' (text is not a string (int))."
    )
    assert "label_dataframe" in message and "label_records" in message


def test_predict_names_list_positions_and_counts_the_rest(tiny_trained: RoleClassifier) -> None:
    texts = [GOOD[0]] + [" "] * 12 + [None]
    with pytest.raises(InvalidTextError) as info:
        tiny_trained.predict(texts)
    assert info.value.positions == list(range(1, 14))
    assert "position 1 (empty text)" in str(info.value)
    assert "position 10 (empty text), and 3 more." in str(info.value)
    assert "position 11" not in str(info.value)
    with pytest.raises(EmptyTextError, match="the posting cannot be classified: empty text"):
        tiny_trained.predict("  ")


def test_a_clean_series_gives_what_the_list_gives(tiny_trained: RoleClassifier) -> None:
    series = pd.Series(GOOD, index=[7, 3, 5])
    titles = pd.Series(["ML Engineer", np.nan, None], index=[7, 3, 5])
    assert tiny_trained.predict(series) == tiny_trained.predict(GOOD)
    want = tiny_trained.predict_proba(GOOD, titles=["ML Engineer", None, None])
    assert np.allclose(tiny_trained.predict_proba(series, titles=titles), want)
    assert np.allclose(tiny_trained.predict_proba(np.array(GOOD), titles=titles.tolist()), want)
    assert np.allclose(tiny_trained.predict_proba(iter(GOOD), titles=iter(titles)), want)
    assert not np.allclose(tiny_trained.predict_proba(series), want)  # the title counted
    got = tiny_trained.classify(series, titles, top_k=1, evidence=0)
    assert [p.label for p in got] == tiny_trained.predict(GOOD, ["ML Engineer", None, None])
    assert tiny_trained.predict(pd.Series([Posting(GOOD[0])]))[0] in tiny_trained.labels


def test_predict_refuses_a_dataframe(tiny_trained: RoleClassifier) -> None:
    with pytest.raises(TypeError, match="not a table; label_dataframe"):
        tiny_trained.predict(pd.DataFrame({"description": GOOD}))


# -- progress --------------------------------------------------------------------------------------
def test_progress_bars_only_when_asked(
    tiny_trained: RoleClassifier, capsys: pytest.CaptureFixture[str]
) -> None:
    df = pd.DataFrame({"description": GOOD * 3})
    quiet = label_dataframe(df, model=tiny_trained, batch_size=4)
    tiny_trained.predict(GOOD)
    assert capsys.readouterr() == ("", "")
    loud = label_dataframe(df, model=tiny_trained, batch_size=4, progress=True)
    err = capsys.readouterr().err
    assert "labelling" in err and "9/9" in err and "rows/s" in err
    pd.testing.assert_frame_equal(loud, quiet)
    assert tiny_trained.predict(GOOD, progress=True) == tiny_trained.predict(GOOD)
    err = capsys.readouterr().err
    assert "encoding" in err and "3/3" in err
    tiny_trained.classify(GOOD, progress=True, evidence=0)
    assert "3/3" in capsys.readouterr().err
