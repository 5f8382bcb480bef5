"""io.csv_reader: one reader for label-csv, train and evaluate (encoding, delimiter, ragged rows)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from role_classifier import io as fileio
from role_classifier.data import read_labelled_csv
from role_classifier.labelling import label_csv
from role_classifier.modeling.model import RoleClassifier
from role_classifier.taxonomy import load_taxonomy
from role_classifier.training import load_training_data


def _records(data: bytes, delimiter: str | None = None) -> tuple[fileio.CsvReader, list]:
    reader = fileio.CsvReader(io.BytesIO(data), "test.csv", delimiter)
    return reader, list(reader)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"id,title,description\n", ","),
        (b"id;title;description\n", ";"),
        (b"id\ttitle\tdescription\n", "\t"),
        (b"id|title|description\n", "|"),
        (b'"a;b",c,d\n', ","),  # separators inside quotes do not count
        (b"description\n", ","),  # one column: nothing to sniff
    ],
)
def test_delimiter_is_sniffed_from_the_header(header: bytes, expected: str) -> None:
    reader, _ = _records(header)
    assert reader.delimiter == expected and reader.sniffed
    assert fileio.CsvReader(io.BytesIO(header), "x", ";").delimiter == ";"


def test_parse_delimiter() -> None:
    assert [fileio.parse_delimiter(v) for v in ("tab", "\\t", ";", None)] == ["\t", "\t", ";", None]
    with pytest.raises(fileio.CsvInputError, match="one character"):
        fileio.parse_delimiter(";;")


def test_encoding_rule_bom_utf8_cp1252_and_no_silent_replacement() -> None:
    data = (
        b"\xef\xbb\xbfid,text\n"
        b"1,caf\xc3\xa9\n"  # UTF-8
        b"2,caf\xe9 \x96 na\xefve\n"  # Windows-1252
        b"3,broken \xff next to \xc3\xa9\n"  # UTF-8 with a broken byte
    )
    reader, records = _records(data)
    assert reader.header == ["id", "text"]
    assert [r.cells[1] for r in records] == ["café", "café – naïve", "broken \ufffd next to é"]
    assert [r.notes for r in records] == [
        [],
        ["line 3 is not valid UTF-8 (read as Windows-1252)"],
        ["line 4 is not valid UTF-8 (invalid bytes replaced with U+FFFD)"],
    ]
    with pytest.raises(fileio.CsvInputError, match="UTF-16"):
        _records("id,text\n".encode("utf-16"))
    with pytest.raises(fileio.CsvInputError, match="is empty"):
        _records(b"")


def test_records_know_their_line_even_after_multiline_cells() -> None:
    data = b'id,text,n\n1,"two\nlines",x\n2,short\n\n3,a,b,c\n4,ok,y\n'
    _, records = _records(data)
    assert [(r.line, r.blank, r.ragged) for r in records] == [
        (2, False, False),
        (4, False, True),
        (5, True, False),
        (6, False, True),
        (7, False, False),
    ]
    assert records[1].ragged_message() == "row has 2 cells but the header has 3"
    assert records[3].ragged_message() == 'row has 4 cells but the header has 3; extra cells: ["c"]'


# The same file, with two ragged rows (lines 3 and 5), through the three commands.
SAME_FILE = (
    "label;title;description\n"
    "ML Engineer;MLE;Train machine learning models in pytorch.\n"
    "Other;Nurse;night shift;extra\n"  # line 3: too many cells
    "AI Engineer;AIE;Build rag with llm apis.\n"
    "Other;Nurse\n"  # line 5: too few cells
    "Other;Sales;Sales analyst dashboard sql.\n"
    "ML Engineer;MLE 2;Train models in pytorch for production.\n"
    "AI Engineer;AIE 2;Build rag with a vector database.\n"
    "Other;Chef;Cook for our company canteen.\n"
)


def test_label_csv_train_and_evaluate_read_a_file_the_same_way(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    path = tmp_path / "same.csv"
    path.write_text(SAME_FILE, encoding="utf-8")
    # label-csv: the ragged rows are error rows, in place
    out = tmp_path / "out.jsonl"
    summary = label_csv(path, out, text_column="description", model=tiny_trained)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert summary.delimiter == ";" and len(rows) == 8
    assert [i for i, r in enumerate(rows) if r["predicted_role"] is None] == [1, 3]
    assert rows[1]["error"].startswith("row has 4 cells but the header has 3")
    # evaluate's reader: skipped, by line
    labelled = read_labelled_csv(path, "label", "description", "title")
    assert [r["line"] for r in labelled.ragged] == [3, 5] and len(labelled) == 6
    # train: skipped, and the caller is told how many and which lines
    told: list[str] = []
    data = load_training_data([path], load_taxonomy(), on_warning=told.append)
    assert len(data.labels) == 6 and data.labels == labelled.labels
    assert told == [
        f"{path}: skipped 2 rows whose cell count differs from the header's (lines 3, 5)",
        f"{path}: read as ';'-separated",
    ]
    with pytest.warns(UserWarning) as caught:  # a library caller without on_warning
        load_training_data([path], load_taxonomy())
    assert [str(w.message) for w in caught] == told
    data = load_training_data([path], load_taxonomy(), delimiter=";", on_warning=told.append)
    assert len(data.labels) == 6


def test_writer_keeps_float_and_list_types(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    header, types = ["id", "score", "evidence"], ["string", "float", "list"]
    rows = [["a", 0.123456, ["one", "two"]], ["b", None, None]]
    for fmt in ("csv", "jsonl", "parquet"):
        with open(tmp_path / f"o.{fmt}", "wb") as f:
            w = fileio.RowWriter(f, fmt, header, types)
            w.write_header()
            w.write(rows)
            w.close()
    assert (tmp_path / "o.csv").read_text("utf-8") == (
        'id,score,evidence\na,0.1235,"[""one"", ""two""]"\nb,,\n'
    )
    jsonl = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text("utf-8").splitlines()]
    assert jsonl == [
        {"id": "a", "score": 0.1235, "evidence": ["one", "two"]},
        {"id": "b", "score": None, "evidence": None},
    ]
    assert pq.read_table(tmp_path / "o.parquet").to_pylist() == jsonl
