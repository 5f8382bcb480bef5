"""label-csv: order and columns kept, every bad input handled, formats, stdin/stdout, resume."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from role_classifier import io as fileio
from role_classifier import labelling
from role_classifier.cli import app
from role_classifier.labelling import (
    ColumnClashError,
    InputFormatError,
    LabelSummary,
    MissingColumnError,
    OutputIsInputError,
    ResumeError,
    RowCountError,
    count_records,
    label_csv,
    output_columns,
    rows,
)
from role_classifier.modeling.model import RoleClassifier
from role_classifier.text import Posting

ADDED = output_columns(1)
ADS = [
    ("AI Engineer", "We build rag pipelines with a vector database and llm apis."),
    ("ML Engineer", "Train machine learning models in pytorch and deploy them. " * 12),
    ("Nurse", "Nurse wanted for a night shift at our clinic."),
    ("", "Run kubernetes serving for our models in production."),
    ("Research Scientist", "Publish papers on model training and research."),
    ("Data Analyst", "Build a dashboard in sql for the sales team."),
    ("Prompt Engineer", "Write prompts and agents on llm apis."),
]


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


def _jobs(tmp_path: Path, n: int = len(ADS), name: str = "jobs.csv") -> Path:
    rows = [[f"id{i}", "Acme", t, d, f"x{i}"] for i, (t, d) in enumerate((ADS * 3)[:n])]
    path = tmp_path / name
    path.write_text(_csv_text(["id", "company", "title", "description", "note"], rows), "utf-8")
    return path


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    old = csv.field_size_limit(2**31 - 1)  # the 1 MB cell
    try:
        with open(path, encoding="utf-8", newline="") as f:
            header, *rows = list(csv.reader(f))
    finally:
        csv.field_size_limit(old)
    return header, rows


def _label(
    tmp_path: Path, clf: RoleClassifier, data: str | bytes, **kw: object
) -> tuple[LabelSummary, list[str], list[list[str]]]:
    src = tmp_path / "in.csv"
    src.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    out = tmp_path / "out.csv"
    out.unlink(missing_ok=True)  # each call a fresh run (a finished OUTPUT is refused)
    kw.setdefault("text_column", "text")
    summary = label_csv(src, out, model=clf, batch_size=2, **kw)  # type: ignore[arg-type]
    header, rows = _read(out)
    return summary, header, rows


def _col(header: list[str], rows: list[list[str]], name: str) -> list[str]:
    i = header.index(name)
    return [r[i] for r in rows]


# -- the happy path ----------------------------------------------------------------------------
def test_rows_kept_in_order_with_all_original_columns(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _jobs(tmp_path, n=7)
    out = tmp_path / "out.csv"
    summary = label_csv(
        src, out, text_column="description", title_column="title", model=tiny_trained, batch_size=3
    )
    in_header, in_rows = _read(src)
    header, rows = _read(out)
    assert header == in_header + ADDED
    assert [r[: len(in_header)] for r in rows] == in_rows
    assert set(_col(header, rows, "predicted_role")) <= set(tiny_trained.labels)
    for conf, runner, score, label in zip(
        _col(header, rows, "confidence"),
        _col(header, rows, "runner_up"),
        _col(header, rows, "runner_up_score"),
        _col(header, rows, "predicted_role"),
        strict=True,
    ):
        assert 0 <= float(score) <= float(conf) <= 1 or tiny_trained.config.other_threshold > 0
        assert runner in tiny_trained.labels and runner != label
    assert _col(header, rows, "error") == [""] * 7
    assert (summary.rows, summary.rows_written, summary.errors) == (7, 7, 0)
    assert sum(summary.label_counts.values()) == 7
    assert not (tmp_path / "out.csv.partial").exists()
    assert not (tmp_path / "out.csv.partial.json").exists()


def test_predictions_match_the_classifier(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    src = _jobs(tmp_path, n=7)
    out = tmp_path / "out.csv"
    label_csv(src, out, text_column="description", title_column="title", model=tiny_trained)
    header, rows = _read(out)
    preds = tiny_trained.classify([Posting(d, t) for t, d in ADS], top_k=1, evidence=0)
    assert _col(header, rows, "predicted_role") == [p.label for p in preds]  # type: ignore[union-attr]
    for got, p in zip(_col(header, rows, "confidence"), preds, strict=True):  # type: ignore[arg-type]
        assert float(got) == pytest.approx(p.confidence, abs=2e-4)


def test_top_k_adds_runner_up_columns(tmp_path: Path, tiny_zero_shot: RoleClassifier) -> None:
    data = _csv_text(["text"], [[d] for _, d in ADS[:3]])
    _, header, rows = _label(tmp_path, tiny_zero_shot, data, top_k=3)
    assert header[1:] == output_columns(3)
    assert "runner_up_3_score" in header
    for row in rows:
        scores = [
            float(row[header.index(c)])
            for c in ("confidence", "runner_up_score", "runner_up_2_score", "runner_up_3_score")
        ]
        assert scores[1:] == sorted(scores[1:], reverse=True)
        names = [
            row[header.index(c)]
            for c in ("predicted_role", "runner_up", "runner_up_2", "runner_up_3")
        ]
        assert len(set(names)) == 4
    _, header0, _ = _label(tmp_path, tiny_zero_shot, data, top_k=0)
    assert header0 == ["text", "predicted_role", "confidence", "review", "error"]


def test_jsonl_output(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    src = _jobs(tmp_path, n=4)
    label_csv(src, tmp_path / "o.csv", text_column="description", model=tiny_trained)
    label_csv(src, tmp_path / "o.jsonl", text_column="description", model=tiny_trained)
    header, rows = _read(tmp_path / "o.csv")
    lines = (tmp_path / "o.jsonl").read_text("utf-8").splitlines()
    objs = [json.loads(line) for line in lines]
    assert [list(o) for o in objs] == [header] * 4
    for obj, row in zip(objs, rows, strict=True):
        assert obj["id"] == row[0] and obj["description"] == row[3]
        assert obj["predicted_role"] == row[header.index("predicted_role")]
        assert f"{obj['confidence']:.4f}" == row[header.index("confidence")]
        assert obj["error"] is None


def test_parquet_output_has_float_scores(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    src = _jobs(tmp_path, n=5)
    src.write_text(src.read_text("utf-8") + "id9,Acme,t,,x\n", "utf-8")  # an error row
    label_csv(src, tmp_path / "o.csv", text_column="description", model=tiny_trained)
    label_csv(src, tmp_path / "o.parquet", text_column="description", model=tiny_trained)
    label_csv(src, tmp_path / "o.jsonl", text_column="description", model=tiny_trained)
    header, rows = _read(tmp_path / "o.csv")
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.column_names == header
    types = dict(zip(table.column_names, map(str, table.schema.types), strict=True))
    assert types.pop("confidence") == types.pop("runner_up_score") == "double"
    assert set(types.values()) == {"string"}
    got = table.to_pylist()
    jsonl = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text("utf-8").splitlines()]
    assert got == jsonl  # the same values and types as JSON lines
    assert got[-1]["confidence"] is None and got[-1]["error"] == "empty text"
    assert [f"{r['confidence']:.4f}" for r in got[:-1]] == [
        r[header.index("confidence")] for r in rows[:-1]
    ]


# -- bad input: every case ---------------------------------------------------------------------
def test_missing_text_column_names_existing_columns(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src = _jobs(tmp_path)
    with pytest.raises(MissingColumnError, match="'id', 'company', 'title', 'description'"):
        label_csv(src, tmp_path / "o.csv", text_column="body", model=tiny_trained)
    with pytest.raises(MissingColumnError, match="title column 'headline'"):
        label_csv(
            src,
            tmp_path / "o.csv",
            text_column="description",
            title_column="headline",
            model=tiny_trained,
        )
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            str(src),
            str(tmp_path / "o.csv"),
            "--text-column",
            "body",
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert result.exit_code == 2
    assert "body" in result.stderr and "'description'" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_empty_whitespace_and_html_only_rows_get_an_error(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    rows = [["1", ""], ["2", "   \n\t "], ["3", "<div><br></div>&nbsp;"], ["4", ADS[0][1]]]
    summary, header, out = _label(tmp_path, tiny_trained, _csv_text(["id", "text"], rows))
    errors = _col(header, out, "error")
    assert errors[0] == "empty text" and errors[1] == "empty text"
    assert errors[2] == "no text left after removing HTML and whitespace"
    assert errors[3] == ""
    assert _col(header, out, "predicted_role")[:3] == ["", "", ""]
    assert _col(header, out, "confidence")[:3] == ["", "", ""]
    assert _col(header, out, "predicted_role")[3] in tiny_trained.labels
    assert (summary.rows, summary.errors) == (4, 3)


def test_title_without_text_is_classified_with_a_warning(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    rows = [["ML Engineer", ""], ["", " <br> "], ["AI Engineer", ADS[0][1]]]
    data = _csv_text(["title", "text"], rows)
    summary, header, out = _label(tmp_path, tiny_trained, data, title_column="title")
    assert _col(header, out, "error") == [
        "warning: empty text; classified from the title alone",
        "no text left after removing HTML and whitespace",
        "",
    ]
    assert _col(header, out, "predicted_role")[0] in tiny_trained.labels
    assert (summary.errors, summary.warnings) == (1, 1)


def test_ragged_rows(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = (
        "id,text,a,b\n"
        f"1,{ADS[0][1]}\n"  # too few cells: an error row, padded so the columns line up
        f'2,{ADS[1][1]},x,y,extra1,"extra,2"\n'  # too many: error, extras in the message
        f"3,{ADS[2][1]},x,y\n"
    )
    summary, header, rows = _label(tmp_path, tiny_trained, data)
    assert [r[:4] for r in rows] == [
        ["1", ADS[0][1], "", ""],
        ["2", ADS[1][1], "x", "y"],
        ["3", ADS[2][1], "x", "y"],
    ]
    err = _col(header, rows, "error")
    assert err[0] == "row has 2 cells but the header has 4"
    assert err[1] == 'row has 6 cells but the header has 4; extra cells: ["extra1", "extra,2"]'
    assert _col(header, rows, "predicted_role")[:2] == ["", ""]
    assert err[2] == ""
    assert (summary.rows, summary.errors, summary.warnings) == (3, 2, 0)


def test_blank_line_is_kept_as_an_error_row(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = f"id,text\n1,{ADS[0][1]}\n\n3,{ADS[2][1]}\n"
    summary, header, rows = _label(tmp_path, tiny_trained, data)
    assert [r[:2] for r in rows] == [["1", ADS[0][1]], ["", ""], ["3", ADS[2][1]]]
    assert _col(header, rows, "error") == ["", "blank line", ""]
    assert summary.rows == summary.rows_written == 3


def test_embedded_newlines_quotes_and_commas_round_trip(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    cells = [
        ["a", 'He said "build rag", then left.\nSecond line, with commas.\r\nThird.'],
        ["b", '""quoted"" at the start'],
        ["c", "tab\there and a trailing space "],
    ]
    _, header, rows = _label(tmp_path, tiny_trained, _csv_text(["id", "text"], cells))
    assert [r[:2] for r in rows] == cells
    assert _col(header, rows, "error") == ["", "", ""]


def test_utf8_bom_is_dropped(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = b"\xef\xbb\xbfid,text\n1," + ADS[0][1].encode() + b"\n"
    _, header, rows = _label(tmp_path, tiny_trained, data)
    assert header[:2] == ["id", "text"]
    assert (tmp_path / "out.csv").read_bytes().startswith(b"id,text,")
    assert rows[0][2] in tiny_trained.labels


def test_latin1_bytes_are_decoded_and_flagged(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = (
        b"id,text\n"
        b"1,Caf\xe9 team: we build rag with llm apis \x96 na\xefve\n"
        b"2,caf\xc3\xa9 ok in utf-8\n"
        b"3,broken \xff byte next to \xc3\xa9\n"
    )
    summary, header, rows = _label(tmp_path, tiny_trained, data)
    assert rows[0][1] == "Café team: we build rag with llm apis – naïve"
    assert rows[1][1] == "café ok in utf-8"
    assert rows[2][1] == "broken \ufffd byte next to é"
    errors = _col(header, rows, "error")
    assert errors[0] == "warning: line 2 is not valid UTF-8 (read as Windows-1252)"
    assert errors[1] == ""
    assert errors[2] == "warning: line 4 is not valid UTF-8 (invalid bytes replaced with U+FFFD)"
    assert all(p in tiny_trained.labels for p in _col(header, rows, "predicted_role"))
    assert (summary.errors, summary.warnings) == (0, 2)


def test_one_megabyte_cell_is_classified_in_bounded_time(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    big = ("We build rag pipelines with llm apis. " * 30_000)[:1_000_000]
    data = _csv_text(["id", "text"], [["1", big], ["2", ADS[2][1]]])
    t0 = time.perf_counter()
    _, header, rows = _label(tmp_path, tiny_trained, data)
    assert time.perf_counter() - t0 < 60
    assert rows[0][1] == big
    assert _col(header, rows, "error") == ["", ""]
    assert rows[0][2] in tiny_trained.labels


def test_duplicate_column_names_are_all_kept(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = f"id,text,id,\n1,{ADS[0][1]},one,e\n"
    _, header, rows = _label(tmp_path, tiny_trained, data)
    assert header[:4] == ["id", "text", "id", ""]
    assert rows[0][:4] == ["1", ADS[0][1], "one", "e"]
    label_csv(tmp_path / "in.csv", tmp_path / "o.jsonl", text_column="text", model=tiny_trained)
    obj = json.loads((tmp_path / "o.jsonl").read_text("utf-8"))
    assert (obj["id"], obj["id.1"], obj[""]) == ("1", "one", "e")
    (tmp_path / "dup.csv").write_text("text,text\na,b\n", "utf-8")
    with pytest.raises(ColumnClashError, match="appears 2 times"):
        label_csv(tmp_path / "dup.csv", tmp_path / "o.csv", text_column="text", model=tiny_trained)


def test_header_only_file(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    summary, header, rows = _label(tmp_path, tiny_trained, "id,text\n")
    assert header == ["id", "text", *ADDED] and rows == []
    assert (summary.rows, summary.rows_written) == (0, 0)


def test_empty_and_utf16_files_are_refused(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    with pytest.raises(InputFormatError, match="empty"):
        _label(tmp_path, tiny_trained, b"")
    with pytest.raises(InputFormatError, match="UTF-16"):
        _label(tmp_path, tiny_trained, "id,text\n1,x\n".encode("utf-16"))


def test_output_equal_to_input_is_refused(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src = _jobs(tmp_path)
    before = src.read_bytes()
    with pytest.raises(OutputIsInputError):
        label_csv(src, src, text_column="description", model=tiny_trained)
    with pytest.raises(OutputIsInputError):
        label_csv(src, tmp_path / "." / "jobs.csv", text_column="description", model=tiny_trained)
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            str(src),
            str(src),
            "--text-column",
            "description",
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert result.exit_code == 2 and "input" in result.stderr
    assert src.read_bytes() == before


def test_input_with_an_output_column_is_refused(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("text,predicted_role,error\nx,y,z\n", "utf-8")
    with pytest.raises(ColumnClashError, match="'predicted_role', 'error'"):
        label_csv(src, tmp_path / "o.csv", text_column="text", model=tiny_trained)
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            str(src),
            str(tmp_path / "o.csv"),
            "--text-column",
            "text",
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert result.exit_code == 2 and "predicted_role" in result.stderr


def test_old_mac_line_endings(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    data = f"id,text\r1,{ADS[0][1]}\r2,{ADS[2][1]}\r"
    _, _, rows = _label(tmp_path, tiny_trained, data)
    assert [r[:2] for r in rows] == [["1", ADS[0][1]], ["2", ADS[2][1]]]


def test_a_failing_row_does_not_sink_its_chunk(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tiny_trained.encode

    def encode(postings: list[Posting], *args: object, **kwargs: object) -> list:
        if any("BOOM" in p.description for p in postings):
            raise RuntimeError("tokenizer exploded")
        return real(postings, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tiny_trained, "encode", encode)
    rows = [["1", ADS[0][1]], ["2", "BOOM"], ["3", ADS[2][1]]]
    summary, header, out = _label(tmp_path, tiny_trained, _csv_text(["id", "text"], rows))
    assert _col(header, out, "error") == [
        "",
        "classification failed: RuntimeError: tokenizer exploded",
        "",
    ]
    assert _col(header, out, "predicted_role")[0] in tiny_trained.labels
    assert summary.errors == 1


def test_a_broken_model_stops_the_run(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    def encode(postings: list[Posting], *args: object, **kwargs: object) -> list:
        raise ValueError("head has the wrong shape")

    monkeypatch.setattr(tiny_trained, "encode", encode)
    with pytest.raises(RuntimeError, match="8 rows in a row failed.*wrong shape"):
        label_csv(
            _jobs(tmp_path, n=12),
            tmp_path / "o.csv",
            text_column="description",
            model=tiny_trained,
            batch_size=3,
        )


def test_row_count_mismatch_is_caught(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileio, "count_output_rows", lambda path, fmt: 999)
    with pytest.raises(RowCountError, match="read 7 rows"):
        label_csv(
            _jobs(tmp_path), tmp_path / "o.csv", text_column="description", model=tiny_trained
        )
    assert (tmp_path / "o.csv.partial").exists() and not (tmp_path / "o.csv").exists()


def test_count_records(tmp_path: Path) -> None:
    src = _jobs(tmp_path, n=7)
    assert count_records(src) == 8
    p = tmp_path / "q.csv"
    p.write_bytes(b'a,b\n1,"x\n\ny"\n2,"say ""hi""\nthere"\n\n3,z')
    assert count_records(p) == 5


def test_workers_sets_and_restores_torch_threads(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    before = torch.get_num_threads()
    seen = []
    real = rows.classify_batch
    monkeypatch.setattr(
        rows, "classify_batch", lambda *a: (seen.append(torch.get_num_threads()), real(*a))
    )
    label_csv(
        _jobs(tmp_path, n=1),
        tmp_path / "o.csv",
        text_column="description",
        model=tiny_trained,
        workers=2,
    )
    assert seen == [2] and torch.get_num_threads() == before == 1


def test_progress_gets_a_total_and_every_chunk(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    calls: list[tuple[int, int | None]] = []
    label_csv(
        _jobs(tmp_path, n=7),
        tmp_path / "o.csv",
        text_column="description",
        model=tiny_trained,
        batch_size=3,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(0, 7), (3, 7), (6, 7), (7, 7)]


# -- CLI, stdin and stdout ---------------------------------------------------------------------
def test_cli_stdin_to_stdout(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = _csv_text(["id", "text"], [["1", ADS[0][1]], ["2", ""], ["3", ADS[2][1]]])
    result = CliRunner().invoke(
        app,
        ["label-csv", "-", "-", "--text-column", "text", "--model", str(tiny_model_dir)],
        input=data.encode(),
    )
    assert result.exit_code == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"))))
    assert header == ["id", "text", *ADDED]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert rows[1][-1] == "empty text"
    assert "labelled 3 rows" in result.stderr and "rows out 3 (ok)" in result.stderr
    assert "1 errors" in result.stderr


def test_cli_jsonl_to_stdout(tiny_model_dir: Path) -> None:
    data = _csv_text(["text"], [[ADS[0][1]]])
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            "-",
            "-",
            "--text-column",
            "text",
            "--format",
            "jsonl",
            "--model",
            str(tiny_model_dir),
        ],
        input=data.encode(),
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout_bytes)["text"] == ADS[0][1]


def test_cli_file_to_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    src = _jobs(tmp_path, n=5)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            str(src),
            str(out),
            "--text-column",
            "description",
            "--title-column",
            "title",
            "--model",
            str(tiny_model_dir),
            "--top-k",
            "2",
            "--batch-size",
            "2",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).num_rows == 5
    assert "rows in 5, rows out 5 (ok)" in result.stderr


# -- resume ------------------------------------------------------------------------------------
class _Crash(Exception):
    pass


def _crash_after(n_chunks: int):  # noqa: ANN202
    calls = []

    def progress(done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) > n_chunks:  # the first call is the start
            raise _Crash(f"crash after {done} rows")

    return progress


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_resume_after_a_crash_is_byte_identical(
    tmp_path: Path, tiny_trained: RoleClassifier, suffix: str
) -> None:
    src = _jobs(tmp_path, n=11)
    kw = dict(
        text_column="description", title_column="title", model=tiny_trained, batch_size=2, top_k=2
    )
    label_csv(src, tmp_path / f"clean.{suffix}", **kw)  # type: ignore[arg-type]
    out = tmp_path / f"out.{suffix}"
    with pytest.raises(_Crash):
        label_csv(src, out, progress=_crash_after(3), **kw)  # type: ignore[arg-type]
    partial, state = Path(f"{out}.partial"), Path(f"{out}.partial.json")
    assert partial.exists() and state.exists() and not out.exists()
    assert json.loads(state.read_text())["rows_done"] == 6
    with pytest.raises(ResumeError, match="--resume"):
        label_csv(src, out, **kw)  # type: ignore[arg-type]
    summary = label_csv(src, out, resume=True, **kw)  # type: ignore[arg-type]
    assert out.read_bytes() == (tmp_path / f"clean.{suffix}").read_bytes()
    assert (summary.rows, summary.rows_written, summary.resumed_from) == (11, 11, 6)
    assert sum(summary.label_counts.values()) == 11
    assert not partial.exists() and not state.exists()


def test_resume_after_ctrl_c_mid_chunk_drops_the_half_written_chunk(
    tmp_path: Path, tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _jobs(tmp_path, n=9)
    kw = dict(text_column="description", model=tiny_trained, batch_size=2)
    label_csv(src, tmp_path / "clean.csv", **kw)  # type: ignore[arg-type]
    out = tmp_path / "out.csv"
    real_write, writes = fileio.RowWriter.write, []

    def write(self: fileio.RowWriter, rows: list) -> None:
        writes.append(1)
        if len(writes) == 3:  # half of the third chunk reaches the disk, then Ctrl-C
            self.f.write(b"id6,Acme,half a row")
            self.f.flush()
            raise KeyboardInterrupt
        real_write(self, rows)

    monkeypatch.setattr(fileio.RowWriter, "write", write)
    with pytest.raises(KeyboardInterrupt):
        label_csv(src, out, **kw)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert Path(f"{out}.partial").read_bytes().endswith(b"half a row")
    label_csv(src, out, resume=True, **kw)  # type: ignore[arg-type]
    assert out.read_bytes() == (tmp_path / "clean.csv").read_bytes()


def test_resume_refuses_other_options_or_a_changed_input(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_zero_shot: RoleClassifier
) -> None:
    src = _jobs(tmp_path, n=6)
    out = tmp_path / "out.csv"
    kw = dict(text_column="description", batch_size=2)
    with pytest.raises(_Crash):
        label_csv(src, out, model=tiny_trained, progress=_crash_after(1), **kw)  # type: ignore[arg-type]
    with pytest.raises(ResumeError, match="top_k: was 1, now 2"):
        label_csv(src, out, model=tiny_trained, resume=True, top_k=2, **kw)  # type: ignore[arg-type]
    with pytest.raises(ResumeError, match="options model"):
        label_csv(src, out, model=tiny_zero_shot, resume=True, **kw)  # type: ignore[arg-type]
    src.write_text(src.read_text() + "id9,Acme,t,more text,x\n", "utf-8")
    with pytest.raises(ResumeError, match="input size"):
        label_csv(src, out, model=tiny_trained, resume=True, **kw)  # type: ignore[arg-type]


def test_resume_with_nothing_to_resume_says_so(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path, n=3), tmp_path / "o.csv"
    kw = dict(text_column="description", model=tiny_trained)
    with pytest.raises(ResumeError, match="nothing to resume: no interrupted run"):
        label_csv(src, out, resume=True, **kw)  # type: ignore[arg-type]
    label_csv(src, out, **kw)  # type: ignore[arg-type]
    args = ["label-csv", str(src), str(out), "--text-column", "description", "--resume"]
    result = CliRunner().invoke(app, [*args, "--model", str(tiny_model_dir)])
    assert result.exit_code == 2
    line = " ".join(result.stderr.split())
    assert f"nothing to resume: {out} was finished (last written 20" in line
    assert "run without --resume" in line and "Traceback" not in result.output


def test_parquet_resume_continues(tmp_path: Path, tiny_trained: RoleClassifier) -> None:
    src = _jobs(tmp_path, n=6)
    out = tmp_path / "out.parquet"
    kw = dict(text_column="description", model=tiny_trained, batch_size=2)
    with pytest.raises(_Crash):
        label_csv(src, out, progress=_crash_after(1), **kw)  # type: ignore[arg-type]
    with pytest.raises(ResumeError):
        label_csv(src, out, **kw)  # type: ignore[arg-type]
    summary = label_csv(src, out, resume=True, **kw)  # type: ignore[arg-type]
    assert summary.resumed_from == 2 and summary.notes == []
    assert pq.read_table(out).column("id").to_pylist() == [f"id{i}" for i in range(6)]


def test_stdout_and_stdin_cannot_resume(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    with pytest.raises(ResumeError, match="standard output"):
        label_csv(_jobs(tmp_path), "-", text_column="description", model=tiny_trained, resume=True)
    result = CliRunner().invoke(
        app,
        [
            "label-csv",
            "-",
            str(tmp_path / "o.csv"),
            "--text-column",
            "text",
            "--resume",
            "--model",
            str(tiny_model_dir),
        ],
        input=b"text\nx\n",
    )
    assert result.exit_code == 2 and "standard input cannot be re-read" in result.stderr


def test_cli_ctrl_c_says_how_to_resume(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rows, "classify_batch", interrupt)
    src, out = _jobs(tmp_path), tmp_path / "o.csv"
    args = [
        "label-csv",
        str(src),
        str(out),
        "--text-column",
        "description",
        "--model",
        str(tiny_model_dir),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130 and "--resume" in result.stderr
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--resume" in result.stderr
    monkeypatch.undo()
    result = CliRunner().invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.stderr
    assert len(_read(out)[1]) == 7


# -- mistakes stop before any work: one line, exit 2, nothing written --------------------------
def _no_model() -> RoleClassifier:
    raise AssertionError("the model was loaded although the arguments were wrong")


@pytest.mark.parametrize(
    ("output", "needle"),
    [
        ("outdir", "is a directory: give a file name, e.g."),
        ("missing/sub/o.csv", "does not exist: create it first (mkdir -p"),
        ("o.xls", "has extension '.xls': name it with one of .csv, .tsv, .jsonl"),
        ("o.txt", "or pass --format"),
        ("labelled", "has no extension"),
    ],
)
def test_bad_output_is_one_line_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, needle: str
) -> None:
    src = _jobs(tmp_path, n=3)
    (tmp_path / "outdir").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(labelling.OutputError):
        label_csv(src, tmp_path / output, text_column="description", model=_no_model)
    from role_classifier.cli import common

    monkeypatch.setattr(common, "load_model", lambda *a: _no_model())
    args = ["label-csv", str(src), str(tmp_path / output), "--text-column", "description"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no partial files


def test_format_overrides_the_extension_and_tsv_is_tab_separated(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _jobs(tmp_path, n=3)
    kw = dict(text_column="description", model=tiny_trained)
    label_csv(src, tmp_path / "o.csv", **kw)  # type: ignore[arg-type]
    label_csv(src, tmp_path / "o.txt", output_format="csv", **kw)  # type: ignore[arg-type]
    assert (tmp_path / "o.txt").read_bytes() == (tmp_path / "o.csv").read_bytes()
    label_csv(src, tmp_path / "o.tsv", **kw)  # type: ignore[arg-type]
    with open(tmp_path / "o.tsv", encoding="utf-8", newline="") as f:
        assert list(csv.reader(f, delimiter="\t")) == list(
            csv.reader(io.StringIO((tmp_path / "o.csv").read_text("utf-8")))
        )


def test_stale_partial_says_when_and_how_to_discard_it(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path, n=6), tmp_path / "out.csv"
    kw = dict(text_column="description", model=tiny_trained, batch_size=2)
    with pytest.raises(_Crash):
        label_csv(src, out, progress=_crash_after(1), **kw)  # type: ignore[arg-type]
    args = ["label-csv", str(src), str(out), "--text-column", "description"]
    args += ["--model", str(tiny_model_dir), "--batch-size", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    message = result.stderr
    assert "an interrupted run left out.csv.partial" in message
    assert re.search(r"last written 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d, 2 rows done", message)
    assert "--resume" in message and "--overwrite" in message and "resume=True" not in message
    result = CliRunner().invoke(app, [*args, "--resume", "--overwrite"])
    assert result.exit_code == 2 and "pass only one" in result.stderr
    result = CliRunner().invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.stderr
    assert len(_read(out)[1]) == 6 and not Path(f"{out}.partial").exists()
    assert not Path(f"{out}.partial.json").exists() and "rows in 6, rows out 6" in result.stderr


# -- options: min-confidence, evidence, filters, delimiter -------------------------------------
def test_min_confidence_turns_weak_roles_into_other(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    src = _jobs(tmp_path, n=7)
    kw = dict(text_column="description", title_column="title", model=tiny_trained, top_k=1)
    label_csv(src, tmp_path / "plain.csv", **kw)  # type: ignore[arg-type]
    header, plain = _read(tmp_path / "plain.csv")
    conf = [float(c) for c in _col(header, plain, "confidence")]
    roles = _col(header, plain, "predicted_role")
    p = sorted(c for c, r in zip(conf, roles, strict=True) if r != "Other")[2]  # 2+ rows below
    summary = label_csv(src, tmp_path / "t.jsonl", min_confidence=p, **kw)  # type: ignore[arg-type]
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text("utf-8").splitlines()]
    assert list(rows[0])[-4:] == ["runner_up_score", "role_below_threshold", "review", "error"]
    below = 0
    for row, c, r in zip(rows, conf, roles, strict=True):
        if r != "Other" and c < p:
            below += 1
            assert row["predicted_role"] == "Other" and row["role_below_threshold"] == r
            assert row["runner_up"] == r and row["runner_up_score"] == round(c, 4)
        else:
            assert row["predicted_role"] == r and row["role_below_threshold"] is None
    assert below >= 2 and summary.below_min_confidence == below
    assert summary.min_confidence == p and summary.label_counts["Other"] >= below
    assert any(f"--min-confidence {p:g}: {below} rows" in n for n in summary.notes)


def test_evidence_column_quotes_the_classifier(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    ad = " ".join(d for _, d in ADS[:3])  # three different sentences
    data = _csv_text(["id", "text"], [["1", ad], ["2", ""], ["3", ADS[0][1]]])
    _, header, rows = _label(tmp_path, tiny_trained, data, evidence=2)
    assert header[-3:] == ["evidence", "review", "error"]
    preds = tiny_trained.classify([Posting(ad), Posting(ADS[0][1])], evidence=2)
    got = _col(header, rows, "evidence")
    assert [json.loads(got[0]), json.loads(got[2])] == [p.evidence for p in preds]  # type: ignore[union-attr]
    assert got[1] == "" and json.loads(got[0])


def test_semicolon_file_filters_and_label_records_agree(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    rows = [[str(i), d, "test" if i % 2 else "train"] for i, (_, d) in enumerate(ADS)]
    text = _csv_text(["id", "text", "split"], rows).replace(",", ";")
    summary, header, out = _label(tmp_path, tiny_trained, text, filters={"split": ["test"]})
    assert summary.delimiter == ";" and any("';'-separated" in n for n in summary.notes)
    assert [r[0] for r in out] == ["1", "3", "5"]
    assert (summary.rows, summary.filtered_out, summary.rows_written) == (7, 4, 3)
    values = labelling.label_records(
        tiny_trained,
        [r for r in rows if r[2] == "test"],
        ["id", "text", "split"],
        text_column="text",
    )
    assert [[fileio.text_cell(v) for v in vals] for vals in values] == [r[3:] for r in out]
    with pytest.raises(MissingColumnError, match="no filter column 'lang'"):
        _label(tmp_path, tiny_trained, text, filters={"lang": ["en"]})
