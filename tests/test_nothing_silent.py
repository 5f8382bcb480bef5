"""Nothing silently wrong: filters, finished outputs, cut CSVs, dates, provenance, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.labelling import NoMatchError, OutputExistsError, label_csv
from role_classifier.modeling.model import RoleClassifier

runner = CliRunner()
ADS = [
    ("2024-03", "We build rag pipelines with a vector database and llm apis."),
    ("2024-04", "Train machine learning models in pytorch and deploy them."),
    ("2024-03", "Nurse wanted for a night shift at our clinic."),
]


def _jobs(tmp_path: Path) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["month", "text"], *ADS])
    path = tmp_path / "jobs.csv"
    path.write_text(buf.getvalue(), "utf-8")
    return path


def _one_line_error(result, *needles: str) -> str:  # noqa: ANN001 - click's Result
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_a_filter_that_matches_nothing_is_an_error(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path), tmp_path / "out.csv"
    with pytest.raises(NoMatchError, match=r"--filter month=2024-3 matches no row of the 3"):
        label_csv(src, out, text_column="text", filters={"month": ["2024-3"]}, model=tiny_trained)
    assert list(tmp_path.iterdir()) == [src]  # no output, no partial run left
    args = ["label-csv", str(src), str(out), "--text-column", "text", "--filter", "month=2024-3"]
    result = runner.invoke(app, [*args, "--model", str(tiny_model_dir)])
    _one_line_error(result, "month=2024-3", "'month' has '2024-03', '2024-04'")
    summary = label_csv(
        src, out, text_column="text", filters={"month": ["2024-03"]}, model=tiny_trained
    )
    assert summary.rows_written == 2


def test_a_finished_output_is_replaced_only_with_overwrite(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    src, out = _jobs(tmp_path), tmp_path / "out.csv"
    label_csv(src, out, text_column="text", model=tiny_trained)
    out.write_text("kept\n", "utf-8")
    with pytest.raises(OutputExistsError, match="rerun with --overwrite"):
        label_csv(src, out, text_column="text", model=tiny_trained)
    args = ["label-csv", str(src), str(out), "--text-column", "text"]
    result = runner.invoke(app, [*args, "--model", str(tiny_model_dir)])
    _one_line_error(result, f"OUTPUT {out} exists", "--overwrite")
    assert out.read_text("utf-8") == "kept\n"
    result = runner.invoke(app, [*args, "--resume", "--model", str(tiny_model_dir)])
    _one_line_error(result, "nothing to resume")  # --resume unchanged
    result = runner.invoke(app, [*args, "--overwrite", "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith("month,text,predicted_role")


def test_a_csv_cut_inside_its_last_quoted_field_is_an_error_row(
    tmp_path: Path, tiny_trained: RoleClassifier
) -> None:
    long = "Train machine learning models in pytorch.\n" * 20
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["id", "text"], ["1", long], ["2", long]])
    lines = buf.getvalue().splitlines(keepends=True)
    cut = tmp_path / "cut.csv"
    cut.write_text("".join(lines[:30]), "utf-8")  # head -n 30: inside row 2's description
    out = tmp_path / "out.csv"
    summary = label_csv(cut, out, text_column="text", model=tiny_trained)
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["1", "2"] and summary.errors == 1
    assert rows[0]["error"] == "" and rows[0]["predicted_role"]
    assert rows[1]["predicted_role"] == "" and "the file looks cut" in rows[1]["error"]
    assert "line 23" in rows[1]["error"]
    whole = tmp_path / "whole.csv"
    whole.write_text(buf.getvalue() + '3,"a 5"" screen"\n4,x 5" y\n', "utf-8")
    summary = label_csv(whole, tmp_path / "o2.csv", text_column="text", model=tiny_trained)
    assert summary.errors == 0  # quotes that close, or a lone quote in a plain field


def test_train_and_evaluate_skip_a_cut_last_record(tmp_path: Path) -> None:
    from role_classifier.data import read_labelled_csv

    path = tmp_path / "cut.csv"
    path.write_text(
        'label,text\nML Engineer,"Train models."\nAI Engineer,"Build rag\napps', "utf-8"
    )
    rows = read_labelled_csv(path, "label", "text")
    assert rows.labels == ["ML Engineer"]
    assert "the file looks cut" in rows.errors[0]["error"]


def _default_labels() -> tuple[str, ...]:
    from role_classifier.modeling.held_out import HeldOut
    from role_classifier.modeling.model import DEFAULT_MODEL_DIR

    return HeldOut.load(DEFAULT_MODEL_DIR).labels


# -- shares: dates ------------------------------------------------------------------------------
def test_dates_read_one_way_for_the_whole_column() -> None:
    from role_classifier.dates import read_dates

    european = read_dates(["15/03/2024", "03/04/2024", "30/04/2024"], column="posted")
    assert [str(d) for d in european.dates] == ["2024-03-15", "2024-04-03", "2024-04-30"]
    assert european.dayfirst is True
    assert "posted: 1 distinct dates read both ways (e.g. 03/04/2024)" in european.warnings[0]
    us = read_dates(["03/04/2024", "12/31/2024"])
    assert [str(d) for d in us.dates] == ["2024-03-04", "2024-12-31"] and us.dayfirst is False
    told = read_dates(["03/04/2024", "12/31/2024"], dayfirst=True)
    assert str(told.dates[0]) == "2024-04-03" and told.dates[1] is None and not told.warnings
    assert told.undated_examples == ["12/31/2024"]
    quarters = read_dates(["Q1 2024", "2024-Q2", "2024 q3", "2024Q4", "Q5 2024", "Mar 2024"])
    assert [str(d) for d in quarters.dates[:4]] == [
        "2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01",
    ]  # fmt: skip
    assert quarters.dates[4] is None and str(quarters.dates[5]) == "2024-03-01"
    assert quarters.undated_examples == ["Q5 2024"]
    import datetime as dt

    pd = pytest.importorskip("pandas")  # pandas' missing values (NaT, NA); not on the base install
    stamps = pd.Series(pd.to_datetime(["2024-03-01", None])).tolist() + [dt.date(2024, 5, 2)]
    read = read_dates([*stamps, pd.NA, float("nan")])
    assert [str(d) for d in read.dates] == ["2024-03-01", "None", "2024-05-02", "None", "None"]
    assert read.undated == 3 and read.undated_examples == []  # missing, not unreadable


def test_shares_warns_about_dates_that_read_both_ways(tmp_path: Path) -> None:
    pytest.importorskip("pandas")  # estimate_shares answers a DataFrame
    labels = list(_default_labels())
    scores = ",".join(["0.7"] + [f"{0.3 / (len(labels) - 1):.6f}"] * (len(labels) - 1))
    lines = ["posted," + ",".join(f"score_{label}" for label in labels) + ",error"]
    posted = ["15/03/2024", "03/04/2024", "Q1 2024", "soon", "2024-05"] * 8
    lines += [f"{p},{scores}," for p in posted]
    path = tmp_path / "labelled.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    from role_classifier.shares import estimate_shares

    out = estimate_shares(path, date_column="posted", period="month", n_boot=0)
    assert list(out["role"].unique()) == labels
    assert set(out["period"]) == {"2024-03", "2024-04", "2024-01", "2024-05", "undated"}
    assert out.attrs["undated_rows"] == 8 and out.attrs["undated_examples"] == ["soon"]
    assert "03/04/2024" in out.attrs["warnings"][0]
    result = runner.invoke(app, ["shares", str(path), "--date-column", "posted", "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert "could not be dated: 'soon'" in result.stderr
    assert "read both ways (e.g. 03/04/2024)" in result.stderr
    args = ["shares", str(path), "--date-column", "posted", "--n-boot", "0", "--monthfirst"]
    result = runner.invoke(app, args)
    assert "read both ways" not in result.stderr
    assert "could not be dated: '15/03/2024', 'soon'" in result.stderr


# -- which model labelled a file ----------------------------------------------------------------
def test_label_csv_records_its_model_and_shares_keeps_to_it(
    tmp_path: Path, tiny_trained: RoleClassifier, tiny_model_dir: Path
) -> None:
    from role_classifier.labelling.provenance import read_meta
    from role_classifier.shares import estimate_shares

    src = _jobs(tmp_path)
    for name in ("out.csv", "out.parquet"):
        args = ["label-csv", str(src), str(tmp_path / name), "--text-column", "text"]
        result = runner.invoke(app, [*args, "--all-scores", "--model", str(tiny_model_dir)])
        assert result.exit_code == 0, result.output
        meta = read_meta(tmp_path / name)
        assert meta is not None and meta["model"] == str(tiny_model_dir.resolve())
        assert meta["taxonomy"]["labels"] == list(tiny_trained.labels)
        assert meta["text_column"] == "text" and meta["all_scores"] is True
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["shares", str(out), "--model", "zero-shot", "--n-boot", "0"])
    _one_line_error(result, "was labelled by model", "not 'zero-shot'", "out.csv.meta.json")
    with pytest.raises(ValueError, match="was labelled by model"):
        estimate_shares(out, held_out="default", n_boot=0)
    df = estimate_shares(out, n_boot=0)  # the recorded model's held-out data, or none
    assert df.attrs["used_rows"] == 3 and df.attrs["title_column"] is None
    label_csv(src, tmp_path / "t.csv", text_column="text", title_column="month",
              all_scores=True, model=tiny_trained)  # fmt: skip
    assert estimate_shares(tmp_path / "t.csv", n_boot=0).attrs["title_column"] == "month"
    result = runner.invoke(app, ["shares", str(out), "-m", str(tiny_model_dir), "--n-boot", "0"])
    assert result.exit_code == 0, result.output


def test_shares_of_a_zero_shot_file_never_uses_the_default_models_held_out(
    tmp_path: Path, tiny_zero_shot: RoleClassifier
) -> None:
    from role_classifier.shares import estimate_shares

    src, out = _jobs(tmp_path), tmp_path / "out.jsonl"
    label_csv(src, out, text_column="text", all_scores=True, model=tiny_zero_shot)
    df = estimate_shares(out, n_boot=0)
    assert df.attrs["interval"] == "sampling"  # no held-out data: no shift interval
    with pytest.raises(ValueError, match="labelled by the zero-shot model, which has no held"):
        estimate_shares(out, method="em", n_boot=0)


# -- train and evaluate read every input format ---------------------------------------------------
LABELLED = [
    {"title": "ML engineer", "description": "Train models in pytorch.", "label": "ml engineer"},
    {"title": "Nurse", "description": "Night shifts at the clinic.", "label": "Other"},
    {"title": "", "description": None, "label": "Other"},
    {"title": "AI engineer", "description": "Build rag apps.", "label": "Astronaut"},
]


def _write_labelled(path: Path) -> Path:
    import gzip
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.suffix in (".parquet", ".pq"):
        pq.write_table(pa.Table.from_pylist(LABELLED), path)
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        text = "".join(json.dumps(r) + "\n" for r in LABELLED).encode()
        path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)
    elif path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(list(LABELLED[0]))
        for row in LABELLED:
            sheet.append(list(row.values()))
        book.save(path)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, list(LABELLED[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(LABELLED)
        data = buf.getvalue().encode()
        path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize(
    "name", ["postings.parquet", "postings.jsonl", "postings.jsonl.gz", "postings.csv.gz", "p.xlsx"]
)
def test_train_and_evaluate_read_every_input_format(tmp_path: Path, name: str) -> None:
    if name.endswith(".xlsx"):
        pytest.importorskip("openpyxl")
    from role_classifier.data import csv_header, read_labelled_csv

    path = _write_labelled(tmp_path / name)
    assert csv_header(path) == ["title", "description", "label"]
    rows = read_labelled_csv(path, "label", "description", "title")
    assert rows.labels == ["ML Engineer", "Other"] and rows.titles == ["ML engineer", "Nurse"]
    assert rows.descriptions == ["Train models in pytorch.", "Night shifts at the clinic."]
    assert rows.unknown_labels == {"Astronaut": 1} and len(rows.errors) == 1
    assert rows.warnings() == []


def test_evaluate_reads_parquet_on_the_command_line(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = _write_labelled(tmp_path / "postings.parquet")
    args = ["evaluate", str(path), "--label-column", "label", "--text-column", "description"]
    out = tmp_path / "eval.json"
    result = runner.invoke(app, [*args, "--model", str(tiny_model_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())["models"]
    assert "PAR1" not in result.output and '"evaluated": 2' in json.dumps(report)


# -- shares on the base install (no pandas) ------------------------------------------------------
def test_shares_runs_without_pandas(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # --plot draws without pandas, with the report extra
    import subprocess
    import sys

    labels = list(_default_labels())
    scores = ",".join(["0.7"] + [f"{0.3 / (len(labels) - 1):.6f}"] * (len(labels) - 1))
    lines = ["source,posted," + ",".join(f"score_{label}" for label in labels) + ",error"]
    lines += [f"{s},2024-0{m},{scores}," for s in ("a", "b") for m in (1, 2) for _ in range(20)]
    lines.append(f"a,2024-01,{','.join([''] * len(labels))},empty text")
    path = tmp_path / "labelled.csv.gz"
    import gzip

    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out, png = tmp_path / "shares.csv", tmp_path / "shares.png"
    code = (
        "import sys; sys.modules['pandas'] = None; from role_classifier.cli import app; "
        "app(sys.argv[1:])"
    )
    args = [str(path), "--by", "source", "--date-column", "posted", "--n-boot", "20"]
    args += ["--out", str(out), "--plot", str(png), "--json"]
    result = subprocess.run(
        [sys.executable, "-c", code, "shares", *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert (table["rows"], table["error_rows"], table["used_rows"]) == (81, 1, 80)
    first = table["shares"][0]
    assert (first["source"], first["period"], first["n"]) == ("a", "2024-01", 20)
    assert first["role"] == labels[0] and first["share"] == 1.0  # cc: every row decided so
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * len(labels) and list(rows[0])[:3] == ["source", "period", "role"]
    assert png.stat().st_size > 1000


def _spy(calls: dict[str, int], name: str, real: Any) -> Any:
    def spy(*args: Any) -> Any:
        calls[name] += 1
        return real(*args)

    return spy


# -- labelling takes the model's decision once ---------------------------------------------------
def test_labelling_takes_the_models_label_scores_and_band(
    tiny_trained: RoleClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from role_classifier.labelling import LabelOptions, label_records
    from role_classifier.text import Posting

    texts = [d for _, d in ADS] + ["Deploy llm agents with rag.", "Publish research papers."]
    preds = tiny_trained.classify([Posting(t) for t in texts], top_k=1, evidence=0)
    calls = {"decide": 0, "review_bands": 0}
    for name in calls:  # the model decides once per batch; labelling never again
        monkeypatch.setattr(tiny_trained, name, _spy(calls, name, getattr(tiny_trained, name)))
    options = LabelOptions(text_column="text", all_scores=True)
    values = label_records(tiny_trained, [[t] for t in texts], ["text"], options)
    assert calls == {"decide": 1, "review_bands": 1}  # one batch, inside classify
    columns = options.columns(tiny_trained.labels)
    for pred, row in zip(preds, values, strict=True):
        got = dict(zip(columns, row))
        assert (got["predicted_role"], got["confidence"]) == (pred.label, pred.confidence)
        assert got["review"] == pred.review
        assert [got[f"score_{k}"] for k in tiny_trained.labels] == list(pred.scores.values())
    other = tiny_trained.taxonomy.other_label
    roles = [p for p in preds if p.label != other]
    cut = sorted(p.confidence for p in roles)[-1]  # every role but the surest becomes Other
    options = LabelOptions(text_column="text", min_confidence=cut)
    values = label_records(tiny_trained, [[t] for t in texts], ["text"], options)
    columns = options.columns()
    for pred, row in zip(preds, values, strict=True):
        got = dict(zip(columns, row))
        below = pred.label != other and pred.confidence < cut
        assert got["predicted_role"] == (other if below else pred.label)
        assert got["role_below_threshold"] == (pred.label if below else None)
        assert got["review"] == pred.review
