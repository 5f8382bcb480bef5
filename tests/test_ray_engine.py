"""``label-csv --engine ray`` (role_classifier.labelling.ray).

The unmarked tests need no Ray cluster: the per-row function, the callable class on plain
batches, the input checks and the CLI's refusals. The ``ray`` tests (``pytest -m ray``) share one
local 2-CPU Ray instance and the tiny model, saved to a folder the actors load by path.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.labelling import (
    ColumnClashError,
    InputFormatError,
    LabelCsvError,
    MissingColumnError,
    label_csv,
    label_records,
    output_columns,
)
from role_classifier.labelling.ray import RoleLabeller, check_input, input_files, output_arrays

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "postings.csv"
OUT = output_columns(1)


def _sample_rows(n: int) -> tuple[list[str], list[list[str]]]:
    """The first ``n`` sample ads (our own writing), with three bad rows mixed in."""
    with open(SAMPLES, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for _, row in zip(range(n), reader)]
    title, text = header.index("title"), header.index("description")
    rows[3][text] = ""  # title only: classified, with a warning
    rows[7][text], rows[7][title] = "", ""  # nothing: "empty text"
    rows[11][text], rows[11][title] = "<p> &nbsp; </p>", ""  # HTML only: an error
    return header, rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    return path


# -- no cluster --------------------------------------------------------------------------------
def test_label_records_gives_the_local_engines_values(tiny_trained, tmp_path: Path) -> None:
    header, rows = _sample_rows(16)
    src = _write_csv(tmp_path / "in.csv", header, rows)
    label_csv(
        src,
        tmp_path / "out.jsonl",
        text_column="description",
        title_column="title",
        model=tiny_trained,
        batch_size=5,
        workers=1,
    )
    local = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    values = label_records(
        tiny_trained, rows, header, text_column="description", title_column="title"
    )
    assert len(values) == len(local) == 16
    for got, want in zip(values, local):
        got = [round(v, 4) if isinstance(v, float) else v for v in got]
        assert got == [want[c] for c in OUT]
    assert values[7][-1] == "empty text" and values[7][0] is None
    assert values[3][0] is not None and values[3][-1].startswith("warning:")


def test_role_labeller_on_table_frame_and_dict(tiny_model_dir: Path) -> None:
    labeller = RoleLabeller(
        str(tiny_model_dir), text_column="text", title_column="title", backend="torch"
    )
    table = pa.table(
        {
            "id": [1, 2, 3],
            "title": ["ML Engineer", None, ""],
            "text": ["train and deploy models", "build rag agents", ""],
        }
    )
    out = labeller(table)
    assert out.column_names == ["id", "title", "text", *OUT]
    assert out.schema.field("confidence").type == pa.float64()
    assert out.column("id").to_pylist() == [1, 2, 3]  # other columns untouched, types kept
    assert out.column("error").to_pylist()[2] == "empty text"
    assert out.column("predicted_role").to_pylist()[2] is None

    frame = labeller(table.to_pandas())
    assert list(frame.columns) == out.column_names
    assert frame["predicted_role"].tolist()[:2] == out.column("predicted_role").to_pylist()[:2]
    as_dict = labeller(
        {k: table.column(k).to_numpy(zero_copy_only=False) for k in ("title", "text")}
    )
    assert list(as_dict) == ["title", "text", *OUT]
    assert len(as_dict["confidence"]) == 3


def test_output_arrays_follow_the_local_writer_per_format() -> None:
    values = [
        ["AI Engineer", 0.812345, "ML Engineer", 0.1, "auto", None],
        [None, None, None, None, None, "x"],
    ]
    as_csv = [a.to_pylist() for a in output_arrays(OUT, values, "csv")]
    assert as_csv[1] == ["0.8123", ""] and as_csv[0] == ["AI Engineer", ""]
    as_pq = [a.to_pylist() for a in output_arrays(OUT, values, "parquet")]
    assert as_pq[1] == [0.8123, None] and as_pq[0] == ["AI Engineer", None]
    as_json = [a.to_pylist() for a in output_arrays(OUT, values, "jsonl")]
    assert as_json[0] == ["AI Engineer", None] and as_json[5] == [None, "x"]
    assert as_csv[4] == ["auto", ""] and as_pq[4] == ["auto", None]


def test_input_files_folder_glob_and_empty(tmp_path: Path) -> None:
    _write_csv(tmp_path / "a.csv", ["id", "text"], [["1", "x"]])
    pq.write_table(pa.table({"id": ["2"], "text": ["y"]}), tmp_path / "b.parquet")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jsonl").write_text('{"id": "3", "text": "z"}\n')
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hi")
    _, files, notes = input_files(tmp_path)
    assert [(Path(f.path).name, f.fmt) for f in files] == [
        ("a.csv", "csv"),
        ("b.parquet", "parquet"),
        ("c.jsonl", "jsonl"),
    ]
    assert any("empty" in n for n in notes) and any("unknown format" in n for n in notes)
    _, files, _ = input_files(f"{tmp_path}/*.csv")
    assert [Path(f.path).name for f in files] == ["a.csv"]
    with pytest.raises(InputFormatError, match="empty"):
        input_files(tmp_path / "empty.csv")
    with pytest.raises(LabelCsvError, match="no such file"):
        input_files(tmp_path / "nope")
    _, _, names, _ = check_input(tmp_path, text_column="text")
    assert names == ["id", "text"]


def test_check_input_refuses_bad_columns(tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "a.csv", ["id", "description"], [["1", "x"]])
    with pytest.raises(MissingColumnError, match="no text column 'text'"):
        check_input(src, text_column="text")
    with pytest.raises(MissingColumnError, match="title"):
        check_input(src, text_column="description", title_column="title")
    clash = _write_csv(tmp_path / "b.csv", ["id", "text", "predicted_role"], [["1", "x", "y"]])
    with pytest.raises(ColumnClashError, match="predicted_role"):
        check_input(clash, text_column="text")
    folder = tmp_path / "mixed"
    folder.mkdir()
    _write_csv(folder / "a.csv", ["id", "text"], [["1", "x"]])
    _write_csv(folder / "b.csv", ["id", "body"], [["1", "x"]])
    with pytest.raises(MissingColumnError, match="b.csv"):
        check_input(folder, text_column="text")


def test_cli_ray_checks_fail_fast_without_a_cluster(tmp_path: Path, tiny_model_dir) -> None:
    src = _write_csv(tmp_path / "a.csv", ["id", "text"], [["1", "x"]])
    runner = CliRunner()
    base = ["label-csv", str(src), str(tmp_path / "out"), "--engine", "ray"]
    missing = runner.invoke(app, [*base, "--text-column", "description", "-m", str(tiny_model_dir)])
    assert missing.exit_code == 2 and "no text column 'description'" in missing.output
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()
    resume = runner.invoke(app, [*base, "--text-column", "text", "--resume"])
    assert resume.exit_code == 2 and "--resume" in resume.output
    stdin = runner.invoke(app, ["label-csv", "-", "out", "--text-column", "t", "--engine", "ray"])
    assert stdin.exit_code == 2 and "standard input" in stdin.output
    local = runner.invoke(
        app, ["label-csv", str(src), str(tmp_path / "o.csv"), "--text-column", "text",
              "--concurrency", "2"]
    )  # fmt: skip
    assert local.exit_code == 2 and "need --engine ray" in local.output


def test_importing_the_package_does_not_import_ray() -> None:
    import subprocess

    code = "import role_classifier, role_classifier.labelling.ray, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- on a local Ray instance -------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_instance():
    import ray  # a missing Ray fails here, loudly: CI installs the ray extra

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _local(src: Path, out: Path, model: Path, backend: str = "torch") -> None:
    result = CliRunner().invoke(
        app,
        ["label-csv", str(src), str(out), "--text-column", "description", "--title-column",
         "title", "-m", str(model), "--backend", backend, "--workers", "1", "--batch-size", "16"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _ray(src: Path | str, out: Path, model: Path, *extra: str, backend: str = "torch") -> str:
    result = CliRunner().invoke(
        app,
        ["label-csv", str(src), str(out), "--text-column", "description", "--title-column",
         "title", "-m", str(model), "--backend", backend, "--engine", "ray", "--batch-size",
         "16", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.ray
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_ray_gives_the_local_answers_row_for_row(
    ray_instance, tiny_model_dir, tmp_path, backend: str
) -> None:
    header, rows = _sample_rows(200)
    src = _write_csv(tmp_path / "in.csv", header, rows)
    _local(src, tmp_path / "local.parquet", tiny_model_dir, backend)
    output = _ray(src, tmp_path / "ray", tiny_model_dir, backend=backend)
    assert "rows in 200, rows out 200 (ok)" in output
    local = pd.read_parquet(tmp_path / "local.parquet").set_index("id").sort_index()
    parts = sorted((tmp_path / "ray").glob("*.parquet"))
    assert parts, "no part files"
    remote = pd.concat(pd.read_parquet(p) for p in parts).set_index("id").sort_index()
    assert list(remote.columns) == list(local.columns) == [*header[1:], *OUT]
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert (local["error"] == "empty text").sum() == 1
    assert local["error"].str.startswith("no text left").sum() == 1


@pytest.mark.ray
def test_ray_reads_a_folder_of_mixed_parts(ray_instance, tiny_model_dir, tmp_path) -> None:
    header, rows = _sample_rows(30)
    _local(_write_csv(tmp_path / "all.csv", header, rows), tmp_path / "local.jsonl", tiny_model_dir)
    folder = tmp_path / "in"
    folder.mkdir()
    _write_csv(folder / "part-0.csv", header, rows[:12])
    table = pa.table(
        {h: pa.array([r[i] for r in rows[12:22]], pa.string()) for i, h in enumerate(header)}
    )
    pq.write_table(table, folder / "part-1.parquet")
    with open(folder / "part-2.jsonl", "w", encoding="utf-8") as f:
        for r in rows[22:]:
            f.write(json.dumps(dict(zip(header, r)), ensure_ascii=False) + "\n")
    _write_csv(folder / "part-3.csv", header, [])  # header only
    (folder / "part-4.csv").write_bytes(b"")  # empty file
    output = _ray(folder, tmp_path / "ray", tiny_model_dir, "--format", "jsonl")
    assert "rows in 30, rows out 30 (ok)" in output and "empty (0-byte)" in output
    local = {
        r["id"]: r for r in map(json.loads, (tmp_path / "local.jsonl").read_text().splitlines())
    }
    remote = {}
    for part in (tmp_path / "ray").glob("*.json*"):
        for line in part.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            remote[r["id"]] = r
    assert remote.keys() == local.keys()
    for key, want in local.items():
        assert remote[key] == want


@pytest.mark.ray
def test_ray_refuses_a_ragged_csv_row_clearly(ray_instance, tiny_model_dir, tmp_path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("id,title,description\n1,a,build models\n2,b,too,many,cells\n")
    result = CliRunner().invoke(
        app,
        ["label-csv", str(src), str(tmp_path / "out"), "--text-column", "description",
         "-m", str(tiny_model_dir), "--backend", "torch", "--engine", "ray"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "does not match the header" in result.output and "--engine local" in result.output
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


@pytest.mark.ray
def test_an_actor_that_dies_is_restarted_and_its_batch_retried(
    ray_instance, tiny_model_dir, tmp_path
) -> None:
    import os

    from role_classifier.labelling.ray import ACTOR_OPTIONS

    marker = tmp_path / "died"

    class DiesOnce(RoleLabeller):  # defined here, so Ray pickles it by value
        def __call__(self, batch):
            if not marker.exists():
                marker.write_text("once")
                os._exit(1)  # the actor's process dies mid-run, as on a lost node
            return super().__call__(batch)

    header, rows = _sample_rows(24)
    src = _write_csv(tmp_path / "in.csv", header, rows)
    ds = ray_instance.data.read_csv(str(src)).map_batches(
        DiesOnce,
        fn_constructor_kwargs={
            "model": str(tiny_model_dir),
            "text_column": "description",
            "title_column": "title",
            "backend": "torch",
        },
        batch_format="pyarrow",
        batch_size=8,
        compute=ray_instance.data.ActorPoolStrategy(size=1),
        num_cpus=1,
        **ACTOR_OPTIONS,
    )
    out = ds.take_all()
    assert marker.exists()
    assert sorted(r["id"] for r in out) == sorted(r[0] for r in rows)
    assert sum(r["predicted_role"] is not None for r in out) == 22  # two rows have no text


def test_role_labeller_all_scores_are_float_columns_that_sum_to_one(tiny_model_dir: Path) -> None:
    labeller = RoleLabeller(
        str(tiny_model_dir), text_column="text", title_column="title", all_scores=True
    )
    table = pa.table({"title": ["ML Engineer", None], "text": ["train and deploy models", ""]})
    out = labeller(table)
    scores = [c for c in out.column_names if c.startswith("score_")]
    assert scores == [f"score_{label}" for label in labeller.clf.labels]
    assert all(out.schema.field(c).type == pa.float64() for c in scores)
    first = [out.column(c).to_pylist()[0] for c in scores]
    assert abs(sum(first) - 1) < 1e-3
    assert all(out.column(c).to_pylist()[1] is None for c in scores)  # the error row: no scores


@pytest.mark.ray
def test_ray_all_scores_equal_the_local_ones_and_feed_shares(
    ray_instance, tiny_model_dir, tmp_path
) -> None:
    header, rows = _sample_rows(60)
    src = _write_csv(tmp_path / "in.csv", header, rows)
    common = ["--text-column", "description", "--title-column", "title", "-m",
              str(tiny_model_dir), "--backend", "torch", "--batch-size", "16", "--all-scores"]  # fmt: skip
    local = CliRunner().invoke(app, ["label-csv", str(src), str(tmp_path / "l.parquet"), *common])
    assert local.exit_code == 0, local.output
    remote = CliRunner().invoke(
        app, ["label-csv", str(src), str(tmp_path / "r"), *common, "--engine", "ray"]
    )
    assert remote.exit_code == 0, remote.output
    meta = json.loads((tmp_path / "r.meta.json").read_text("utf-8"))  # which model, next to it
    assert meta == json.loads((tmp_path / "l.parquet.meta.json").read_text("utf-8"))
    want = pd.read_parquet(tmp_path / "l.parquet").set_index("id").sort_index()
    parts = sorted((tmp_path / "r").glob("*.parquet"))
    got = pd.concat(pd.read_parquet(p) for p in parts).set_index("id").sort_index()
    scores = [c for c in want.columns if c.startswith("score_")]
    assert scores and [c for c in got.columns if c.startswith("score_")] == scores
    pd.testing.assert_frame_equal(got[scores], want[scores], check_exact=True)
    got.reset_index().to_parquet(tmp_path / "joined.parquet")
    shares = CliRunner().invoke(app, ["shares", str(tmp_path / "joined.parquet"), "--json"])
    assert shares.exit_code == 0, shares.output
    table = json.loads(shares.stdout)
    labelled = int((got["error"].isna() | got["error"].str.startswith("warning")).sum())
    assert table["used_rows"] == labelled and table["error_rows"] == 60 - labelled
    assert abs(sum(r["share"] for r in table["shares"]) - 1) < 1e-6


def test_role_labeller_judges_cells_like_label_dataframe(tiny_model_dir: Path) -> None:
    from role_classifier import label_dataframe

    labeller = RoleLabeller(str(tiny_model_dir), text_column="text", title_column=None)
    table = pa.table({"text": pa.array([42, None, 7], type=pa.int64())})
    out = labeller(table).column("error").to_pylist()
    cells = pd.DataFrame({"text": pd.Series([42, None, 7], dtype=object)})  # ints stay ints
    frame = label_dataframe(cells, "text", None, model=str(tiny_model_dir))
    assert (
        out
        == frame["error"].tolist()
        == ["text is not a string (int)", "empty text"] + ["text is not a string (int)"]
    )
