"""label-csv's input and output formats: JSON lines, Parquet, Excel, gzip, a BOM, and resume.

Every input format gives every row, in order, with all its columns, and an error row for a bad
record; a corrupt file is one clear error naming it; Parquet output resumes after a kill.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import importlib.util
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from role_classifier import io as fileio
from role_classifier._extras import MissingExtraError
from role_classifier.cli import app
from role_classifier.labelling import (
    InputFormatError,
    MissingColumnError,
    OutputError,
    ResumeError,
    label_csv,
    output_columns,
)
from role_classifier.modeling.model import RoleClassifier

ADDED = output_columns(1)
ADS = [
    ("AI Engineer", "We build rag pipelines with a vector database and llm apis."),
    ("ML Engineer", "Train machine learning models in pytorch and deploy them."),
    ("Nurse", "Nurse wanted for a night shift at our clinic."),
    ("", "Run kubernetes serving for our models in production."),
    ("Research Scientist", "Publish papers on model training and research."),
    ("Data Analyst", "Build a dashboard in sql for the sales team."),
    ("Prompt Engineer", "Write prompts and agents on llm apis."),
]
HEADER = ["id", "company", "title", "description", "note"]
BOM = b"\xef\xbb\xbf"


def _rows(n: int = 7) -> list[list[str]]:
    return [[f"id{i}", "Acmé", t, d, f"x{i}"] for i, (t, d) in enumerate((ADS * 5)[:n])]


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue().encode("utf-8")


def _jsonl_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    return "".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows).encode("utf-8")


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """``rows`` in the format ``path``'s suffix names."""
    name = path.name
    if name.endswith((".csv", ".csv.gz")):
        data = _csv_bytes(header, rows)
    elif name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        data = _jsonl_bytes(header, rows)
    elif name.endswith(".parquet"):
        columns = {h: [r[i] for r in rows] for i, h in enumerate(header)}
        pq.write_table(pa.table(columns), path, row_group_size=3)
        return path
    else:
        assert name.endswith(".xlsx"), name
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        sheet = book.active
        for row in [header, *rows]:
            sheet.append(row)
        book.save(path)
        return path
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def _no_model() -> RoleClassifier:
    raise AssertionError("the model was loaded although the input was wrong")


def _label(src: Path, out: Path, clf: RoleClassifier, **kw: Any):  # noqa: ANN202
    kw.setdefault("text_column", "description")
    kw.setdefault("batch_size", 2)
    return label_csv(src, out, model=clf, workers=1, **kw)


# -- every input format: every row, in order, all columns --------------------------------------
INPUTS = ["in.csv.gz", "in.jsonl", "in.ndjson.gz", "in.parquet", "in.xlsx"]


@pytest.mark.parametrize("name", INPUTS)
def test_each_input_format_gives_the_csv_inputs_output(
    tmp_path: Path, tiny_trained: RoleClassifier, name: str
) -> None:
    rows = _rows(7)
    _label(_write(tmp_path / "in.csv", HEADER, rows), tmp_path / "want.csv", tiny_trained)
    summary = _label(_write(tmp_path / name, HEADER, rows), tmp_path / "got.csv", tiny_trained)
    assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()
    header, out = _read_csv(tmp_path / "got.csv")
    assert header == HEADER + ADDED and [r[:5] for r in out] == rows
    assert (summary.rows, summary.rows_written, summary.errors) == (7, 7, 0)


@pytest.mark.parametrize("name", ["in.csv", *INPUTS])
def test_the_progress_total_is_the_row_count_in_every_format(
    tmp_path: Path, tiny_trained: RoleClassifier, name: str
) -> None:
    calls: list[tuple[int, int | None]] = []
    src = _write(tmp_path / name, HEADER, _rows(5))
    _label(src, tmp_path / "o.csv", tiny_trained, batch_size=3, progress=lambda *a: calls.append(a))
    assert calls == [(0, 5), (3, 5), (5, 5)]


@pytest.mark.parametrize("name", ["in.jsonl", "in.xlsx"])  # Parquet: the next tests
def test_non_text_cells_are_written_back_as_they_were(
    tmp_path: Path, tiny_trained: RoleClassifier, name: str
) -> None:
    header = ["id", "price", "remote", "posted", "description"]
    day = datetime.datetime(2024, 3, 5, 9, 30)
    rows: list[list[Any]] = [
        [1, 2.5, True, day, ADS[0][1]],
        [2, None, False, day, ADS[1][1]],
        [3, 10**16, None, day, 42],  # a number where the text should be: an error row
    ]
    if name.endswith(".jsonl"):
        for row in rows:
            row[3] = row[3].isoformat()
    src = _write(tmp_path / name, header, rows)
    _label(src, tmp_path / "o.jsonl", tiny_trained)
    out = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text("utf-8").splitlines()]
    assert [[o[h] for h in ("id", "price", "remote")] for o in out] == [r[:3] for r in rows]
    assert isinstance(out[2]["id"], int)  # a number stays a number in JSON output
    assert {o["posted"] for o in out} == {"2024-03-05T09:30:00"}
    assert out[2]["error"] == "text is not a string (int)"
    assert out[2]["predicted_role"] is None and out[0]["predicted_role"] in tiny_trained.labels
    _label(src, tmp_path / "o.csv", tiny_trained)
    got = _read_csv(tmp_path / "o.csv")[1]
    big = "10000000000000000" if name.endswith(".jsonl") else "1e+16"  # Excel holds a double
    assert [r[:4] for r in got] == [
        ["1", "2.5", "true", "2024-03-05T09:30:00"],
        ["2", "", "false", "2024-03-05T09:30:00"],
        ["3", big, "", "2024-03-05T09:30:00"],
    ]


def test_bad_json_lines_are_error_rows_in_place(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    lines = [
        json.dumps({"id": 1, "description": ADS[0][1], "n": 7}),
        '{"id": 2, "description": "cut off',
        "[1, 2]",
        "",
        json.dumps({"id": 5, "description": ADS[2][1], "extra": {"k": [1, 2]}}),
        json.dumps({"id": 6}),
        json.dumps({"id": 7, "description": ADS[4][1]}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", "utf-8")
    summary = _label(src, tmp_path / "o.jsonl", tiny_trained, filters={"n": ["7"]})
    out = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text("utf-8").splitlines()]
    assert summary.rows == 7 and summary.filtered_out == 4  # as in CSV, a blank line too
    assert [o["id"] for o in out] == [1, None, None]  # unreadable lines are kept, as errors
    assert out[0]["n"] == 7 and out[0]["predicted_role"] in tiny_trained.labels
    assert out[1]["error"].startswith("line 2 is not valid JSON (Unterminated string")
    assert out[1]["error"].endswith('"cut off')
    assert out[2]["error"] == "line 3 is an array, not a JSON object: [1, 2]"
    _label(src, tmp_path / "all.jsonl", tiny_trained)
    out = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text("utf-8").splitlines()]
    assert list(out[0])[:4] == ["id", "description", "n", "extra"]  # every key, first seen first
    assert len(out) == 7 and out[3]["error"] == "blank line"
    assert out[4]["extra"] == {"k": [1, 2]} and out[4]["n"] is None
    assert out[5]["error"] == "empty text" and out[6]["predicted_role"] is not None


def test_parquet_is_read_in_batches_and_keeps_its_types(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(9)
    table = pa.table(
        {
            "id": pa.array(range(9), pa.int32()),
            "description": [r[3] for r in rows],
            "tags": [["a", "b"]] * 9,
            "when": pa.array([datetime.date(2024, 1, i + 1) for i in range(9)], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=4)
    seen = []
    real = pq.ParquetFile.iter_batches

    def iter_batches(self, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(kw.get("batch_size"))
        return real(self, *args, **kw)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", iter_batches)
    monkeypatch.setattr(pq, "read_table", None)  # never the whole file at once
    _label(tmp_path / "in.parquet", tmp_path / "o.csv", tiny_trained)
    monkeypatch.undo()
    assert seen == [fileio.readers._PARQUET_BATCH_ROWS]
    _label(tmp_path / "in.parquet", tmp_path / "o.parquet", tiny_trained)
    got = pq.read_table(tmp_path / "o.parquet")
    assert got.schema.field("id").type == pa.int32()
    assert got.schema.field("when").type == pa.date32()
    assert got.select(["id", "description", "tags", "when"]).equals(table)
    assert _read_csv(tmp_path / "o.csv")[1][0][:3] == ["0", rows[0][3], '["a", "b"]']


def test_a_text_column_that_holds_numbers_is_one_error_per_row(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    pq.write_table(pa.table({"id": ["a", "b"], "description": [7, None]}), tmp_path / "n.parquet")
    summary = _label(tmp_path / "n.parquet", tmp_path / "o.csv", tiny_trained)
    assert _read_csv(tmp_path / "o.csv")[1] == [
        ["a", "7", "", "", "", "", "", "text is not a string (int)"],
        ["b", "", "", "", "", "", "", "empty text"],
    ]
    assert summary.errors == 2


def test_excel_input_first_sheet_blank_rows_and_trailing_rows(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "postings"
    sheet.append(["id", "description", None])  # an empty header cell at the end is dropped
    sheet.append([1, ADS[0][1]])
    sheet.append([])  # an empty row between rows: a blank record
    sheet.append([3, ADS[1][1], None, None])
    sheet.append([4, ADS[2][1], "stray"])  # a cell beyond the header: ragged
    sheet.cell(row=9, column=1).value = None  # formatting rows at the end: not records
    sheet.cell(row=9, column=1).number_format = "0.00"
    book.create_sheet("notes").append(["ignored"])
    book.save(tmp_path / "in.xlsx")
    summary = _label(tmp_path / "in.xlsx", tmp_path / "o.csv", tiny_trained)
    header, out = _read_csv(tmp_path / "o.csv")
    assert header == ["id", "description", *ADDED]
    assert [r[0] for r in out] == ["1", "", "3", "4"]
    assert out[1][-1] == "blank line"
    assert out[3][-1] == 'row has 3 cells but the header has 2; extra cells: ["stray"]'
    assert "read the first sheet, 'postings', of 2" in summary.notes


# -- a corrupt or wrong file: one clear error naming it ----------------------------------------
def test_truncated_gzip_is_a_clear_error_naming_the_file(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    data = gzip.compress(_csv_bytes(HEADER, _rows(35) * 40))
    src = tmp_path / "in.csv.gz"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match=r"in\.csv\.gz is truncated"):
        _label(src, tmp_path / "o.csv", tiny_trained, batch_size=64)
    args = ["label-csv", str(src), str(tmp_path / "p.csv"), "--text-column", "description"]
    result = CliRunner().invoke(app, [*args, "--model", str(tiny_model_dir)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and f"{src} is truncated" in result.stderr


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("in.parquet", b"id,description\n1,x\n", r"in\.parquet is not a readable Parquet file"),
        ("in.parquet", b"PAR1" + b"\0" * 64, r"in\.parquet is not a readable Parquet file"),
        ("in.jsonl.gz", b"id,description\n1,x\n", r"in\.jsonl\.gz is not gzip-compressed"),
        ("in.xlsx", b"id,description\n1,x\n", r"in\.xlsx is not a readable \.xlsx workbook"),
        ("in.csv", gzip.compress(b"id,description\n"), r"in\.csv is gzip-compressed.*in\.csv\.gz"),
        ("in.csv", b"PAR1\0\0\0", r"in\.csv is a Parquet file, not a CSV: name it in\.parquet"),
        ("in.json", b'[\n {"id": 1}\n]\n', r"in\.json is one JSON array.*jq -c"),
        ("in.jsonl", b'{\n "id": 1\n}\n', r"in\.jsonl has no line that is a JSON object"),
        ("in.jsonl", b"", r"in\.jsonl is empty"),
        ("in.xls", b"\xd0\xcf\x11\xe0", r"in\.xls is an old Excel \(\.xls\) workbook"),
    ],
)
def test_a_corrupt_or_misnamed_file_is_one_clear_error_before_the_model(
    tmp_path: Path, name: str, data: bytes, needle: str
) -> None:
    if name.endswith(".xlsx"):
        pytest.importorskip("openpyxl")
    src = tmp_path / name
    src.write_bytes(data)
    with pytest.raises(InputFormatError, match=needle):
        label_csv(src, tmp_path / "o.csv", text_column="description", model=_no_model)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("name", ["in.jsonl", "in.parquet", "in.xlsx", "in.csv.gz"])
def test_a_missing_text_column_is_the_csv_error(tmp_path: Path, name: str) -> None:
    src = _write(tmp_path / name, ["id", "body"], [["1", "some text"]])
    with pytest.raises(MissingColumnError, match="no text column 'description'.*'id', 'body'"):
        label_csv(src, tmp_path / "o.csv", text_column="description", model=_no_model)


def test_excel_without_openpyxl_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "openpyxl" else real(n, *a)
    )
    src = _write(tmp_path / "in.csv", HEADER, _rows(2))
    (tmp_path / "in.xlsx").write_bytes(b"PK\x03\x04")
    for args in [(tmp_path / "in.xlsx", tmp_path / "o.csv"), (src, tmp_path / "o.xlsx")]:
        with pytest.raises(MissingExtraError, match=r"pip install 'role-classifier\[excel\]'"):
            label_csv(*args, text_column="description", model=_no_model)
    cli = ["label-csv", str(src), str(tmp_path / "o.xlsx"), "--text-column", "description"]
    result = CliRunner().invoke(app, cli)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "pip install 'role-classifier[excel]'" in result.stderr


# -- Excel output ------------------------------------------------------------------------------
def test_excel_output_keeps_rows_numbers_and_text(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = [
        [1, "=HYPERLINK(1)", ADS[0][1]],
        [2, "bell\x07 here", ADS[1][1]],
        [3, "x" * 40_000, ""],
    ]
    src = _write(tmp_path / "in.jsonl", ["id", "note", "description"], rows)
    summary = _label(src, tmp_path / "o.xlsx", tiny_trained)
    sheet = openpyxl.load_workbook(tmp_path / "o.xlsx").worksheets[0]
    got = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert got[0] == ["id", "note", "description", *ADDED]
    assert [r[0] for r in got[1:]] == [1, 2, 3]
    assert sheet["B2"].data_type == "s" and got[1][1] == "=HYPERLINK(1)"  # text, not a formula
    assert got[2][1] == "bell here" and len(got[3][1]) == fileio.EXCEL_CELL_CHARS
    assert isinstance(got[1][4], float) and got[3][-1] == "empty text"
    assert any("32,767 characters" in n for n in summary.notes)
    assert any("1 control characters" in n for n in summary.notes)


# -- gzip output -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_gzip_output_is_the_plain_output_compressed(
    tmp_path: Path, tiny_trained: RoleClassifier, suffix: str
) -> None:
    src = _write(tmp_path / "in.parquet", HEADER, _rows(5))
    plain = _label_bytes(src, tmp_path / f"o.{suffix}", tiny_trained)
    summary = _label(src, tmp_path / f"o.{suffix}.gz", tiny_trained)
    packed = (tmp_path / f"o.{suffix}.gz").read_bytes()
    assert summary.rows_written == 5 and packed.startswith(b"\x1f\x8b")
    assert gzip.decompress(packed) == plain
    _label(src, tmp_path / f"s.{suffix}.gz", tiny_trained, all_scores=True)  # shares reads it
    pd = pytest.importorskip("pandas")
    from role_classifier.shares import read_scores

    scores = read_scores(tmp_path / f"s.{suffix}.gz")
    assert isinstance(scores, pd.DataFrame) and len(scores) == 5
    assert [c for c in scores.columns if c.startswith("score_")] == [
        f"score_{label}" for label in tiny_trained.labels
    ]


def test_gzip_output_resumes_byte_identical_with_one_bom(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _write(tmp_path / "in.jsonl", HEADER, _rows(11))
    _label(src, tmp_path / "clean.csv.gz", tiny_trained, bom=True)
    clean = (tmp_path / "clean.csv.gz").read_bytes()
    text = gzip.decompress(clean)
    assert text.startswith(BOM + b"id,") and text.count(BOM) == 1
    out = tmp_path / "out.csv.gz"
    with pytest.raises(_Crash):
        _label(src, out, tiny_trained, bom=True, progress=_crash_after(3))
    with open(f"{out}.partial", "ab") as f:
        f.write(b"\x1f\x8b half a member")  # a chunk cut short by the kill
    summary = _label(src, out, tiny_trained, bom=True, resume=True)
    assert summary.resumed_from == 6 and out.read_bytes() == clean


@pytest.mark.parametrize("name", ["o.parquet.gz", "o.xlsx.gz"])
def test_gzip_is_refused_for_parquet_and_excel_output(tmp_path: Path, name: str) -> None:
    src = _write(tmp_path / "in.csv", HEADER, _rows(2))
    with pytest.raises(OutputError, match="compressed inside already; drop the .gz"):
        label_csv(src, tmp_path / name, text_column="description", model=_no_model)


# -- --bom -------------------------------------------------------------------------------------
def test_bom_output_starts_with_one_bom_also_after_resume(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _write(tmp_path / "in.csv", HEADER, _rows(9))
    _label(src, tmp_path / "clean.csv", tiny_trained, bom=True)
    clean = (tmp_path / "clean.csv").read_bytes()
    assert clean.startswith(BOM) and clean.count(BOM) == 1
    assert clean[3:] == _label_bytes(src, tmp_path / "plain.csv", tiny_trained)
    out = tmp_path / "out.csv"
    with pytest.raises(_Crash):
        _label(src, out, tiny_trained, bom=True, progress=_crash_after(2))
    with pytest.raises(ResumeError, match="bom"):
        _label(src, out, tiny_trained, resume=True)  # the interrupted run had a BOM
    summary = _label(src, out, tiny_trained, bom=True, resume=True)
    assert summary.resumed_from == 4 and out.read_bytes() == clean
    with pytest.raises(OutputError, match="--bom is for CSV and TSV output"):
        label_csv(src, tmp_path / "o.jsonl", text_column="description", bom=True, model=_no_model)


def _label_bytes(src: Path, out: Path, clf: RoleClassifier) -> bytes:
    _label(src, out, clf)
    return out.read_bytes()


def test_a_bom_input_reads_like_one_without(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = _csv_bytes(HEADER, _rows(3))
    (tmp_path / "bom.csv").write_bytes(BOM + data)
    (tmp_path / "bom.csv.gz").write_bytes(gzip.compress(BOM + data))
    (tmp_path / "bom.jsonl").write_bytes(BOM + _jsonl_bytes(HEADER, _rows(3)))
    want = _label_bytes(
        _write(tmp_path / "in.csv", HEADER, _rows(3)), tmp_path / "w.csv", tiny_trained
    )
    for name in ("bom.csv", "bom.csv.gz", "bom.jsonl"):
        summary = _label(tmp_path / name, tmp_path / "o.csv", tiny_trained, overwrite=True)
        assert summary.columns[0] == "id"
        assert (tmp_path / "o.csv").read_bytes() == want, name
        (tmp_path / "o.csv").unlink()


def test_the_ray_engine_refuses_excel_output_and_a_bom() -> None:
    from role_classifier.labelling import LabelCsvError, LabelOptions
    from role_classifier.labelling.ray import _output_format

    with pytest.raises(LabelCsvError, match="xlsx output needs --engine local"):
        _output_format("labelled.xlsx", LabelOptions("description"), 1, None)
    with pytest.raises(LabelCsvError, match="needs --engine local"):
        _output_format("labelled/", LabelOptions("description", bom=True), 1, None)
    with pytest.raises(LabelCsvError, match="a .gz OUTPUT needs --engine local"):
        _output_format("labelled.csv.gz", LabelOptions("description"), 1, None)


def test_cli_bom_option(tmp_path: Path, tiny_model_dir: Path) -> None:
    src = _write(tmp_path / "in.jsonl", HEADER, _rows(2))
    args = ["label-csv", str(src), str(tmp_path / "o.csv"), "--text-column", "description"]
    result = CliRunner().invoke(app, [*args, "--bom", "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "o.csv").read_bytes().startswith(BOM + b"id,company,title,description")
    result = CliRunner().invoke(app, [*args, "--bom", "--engine", "ray"])
    assert result.exit_code == 2 and "--bom: not available with --engine ray" in result.stderr


# -- resume of a Parquet output ----------------------------------------------------------------
class _Crash(Exception):
    pass


def _crash_after(n_chunks: int):  # noqa: ANN202
    calls: list[int] = []

    def progress(done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) > n_chunks:  # the first call is the start
            raise _Crash(f"crash after {done} rows")

    return progress


@pytest.mark.parametrize("name", ["in.csv", "in.parquet", "in.jsonl.gz"])
def test_parquet_output_resumes_to_the_uninterrupted_file(
    tmp_path: Path, tiny_trained: RoleClassifier, name: str
) -> None:
    src = _write(tmp_path / name, HEADER, _rows(11))
    _label(src, tmp_path / "clean.parquet", tiny_trained)
    out = tmp_path / "out.parquet"
    with pytest.raises(_Crash):
        _label(src, out, tiny_trained, progress=_crash_after(3))
    partial, state = Path(f"{out}.partial"), Path(f"{out}.partial.json")
    assert sorted(p.name for p in partial.iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
    assert json.loads(state.read_text())["parts"] == 3 and not out.exists()
    (partial / "part-00003.parquet").write_bytes(b"written after the checkpoint")
    (partial / "part-00004.parquet.tmp").write_bytes(b"half a part")
    with pytest.raises(ResumeError, match="--resume"):
        _label(src, out, tiny_trained)
    summary = _label(src, out, tiny_trained, resume=True)
    assert (summary.rows, summary.rows_written, summary.resumed_from) == (11, 11, 6)
    assert out.read_bytes() == (tmp_path / "clean.parquet").read_bytes()
    assert pq.read_table(out).column("id").to_pylist() == [f"id{i}" for i in range(11)]
    assert not partial.exists() and not state.exists()


def test_parquet_resume_refuses_a_part_removed_by_hand(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _write(tmp_path / "in.csv", HEADER, _rows(8))
    out = tmp_path / "out.parquet"
    with pytest.raises(_Crash):
        _label(src, out, tiny_trained, progress=_crash_after(2))
    (tmp_path / "out.parquet.partial" / "part-00000.parquet").unlink()
    with pytest.raises(ResumeError, match="lacks part-00000.parquet.*--overwrite"):
        _label(src, out, tiny_trained, resume=True)
    _label(src, out, tiny_trained, overwrite=True)
    assert pq.read_table(out).num_rows == 8


_CHILD = """
import sys, time
from role_classifier.labelling import label_csv
from role_classifier.modeling.model import RoleClassifier

clf = RoleClassifier.from_pretrained(sys.argv[3], backend="torch")
calls = []

def progress(done, total):
    calls.append(done)
    if len(calls) == 3:  # two chunks are committed: wait to be killed
        print("ready", flush=True)
        time.sleep(120)

label_csv(sys.argv[1], sys.argv[2], text_column="description", model=clf, batch_size=2,
          workers=1, progress=progress)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select on pipes are POSIX")
def test_parquet_output_resumes_after_sigkill(tmp_path: Path, tiny_model_dir: Path) -> None:
    clf = RoleClassifier.from_pretrained(tiny_model_dir, backend="torch")
    src = _write(tmp_path / "in.parquet", HEADER, _rows(9))
    _label(src, tmp_path / "clean.parquet", clf)
    out = tmp_path / "out.parquet"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(src), str(out), str(tiny_model_dir)],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 120)  # bounded: never hang the suite
        assert ready and child.stdout.readline() == b"ready\n", "the child never got ready"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    state = json.loads(Path(f"{out}.partial.json").read_text())
    assert (state["rows_done"], state["parts"]) == (4, 2) and not out.exists()
    started = time.perf_counter()
    summary = _label(src, out, clf, resume=True)
    assert summary.resumed_from == 4 and time.perf_counter() - started < 30
    assert out.read_bytes() == (tmp_path / "clean.parquet").read_bytes()
    assert pq.read_table(out).column("id").to_pylist() == [f"id{i}" for i in range(9)]


def test_parts_are_joined_into_row_groups_of_the_writers_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileio.writers, "_PARQUET_GROUP_ROWS", 5)
    parts = fileio.ParquetParts(tmp_path / "p", ["id", "confidence"], ["value", "float"])
    parts.open(0)
    for start in range(0, 12, 3):
        parts.write([[f"r{i}", i / 10] for i in range(start, start + 3)])
    parts.write([])  # a chunk that was all filtered out: no part
    assert parts.parts == 4
    assert parts.join(tmp_path / "o.parquet") == 12
    meta = pq.ParquetFile(tmp_path / "o.parquet").metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [5, 5, 2]
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.column("id").to_pylist() == [f"r{i}" for i in range(12)]
    empty = fileio.ParquetParts(tmp_path / "e", ["id"], ["value"])
    empty.open(0)
    assert empty.join(tmp_path / "e.parquet") == 0
    assert pq.read_table(tmp_path / "e.parquet").column_names == ["id"]


def test_parquet_output_from_stdin_is_written_without_a_checkpoint(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    args = ["label-csv", "-", str(tmp_path / "o.parquet"), "--text-column", "description"]
    result = CliRunner().invoke(
        app, [*args, "--model", str(tiny_model_dir)], input=_csv_bytes(HEADER, _rows(3))
    )
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet", "o.parquet.meta.json"]


def test_excel_output_restarts_on_resume_with_a_note(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    pytest.importorskip("openpyxl")
    src = _write(tmp_path / "in.csv", HEADER, _rows(6))
    out = tmp_path / "o.xlsx"
    with pytest.raises(_Crash):
        _label(src, out, tiny_trained, progress=_crash_after(1))
    summary = _label(src, out, tiny_trained, resume=True)
    assert summary.resumed_from == 0 and "xlsx output cannot be resumed" in summary.notes[0]
    assert fileio.count_output_rows(out, "xlsx") == 6
