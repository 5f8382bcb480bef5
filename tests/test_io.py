"""io/: one table from suffix to reader and writer, used by every command and both engines."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

import role_classifier
from role_classifier import io as fileio

PACKAGE = Path(role_classifier.__file__).parent


def test_one_table_gives_every_suffix_its_reader_and_writer() -> None:
    for suffix, (read, written, ray) in fileio.SUFFIXES.items():
        assert fileio.input_format(f"jobs{suffix}") == (read, False)
        if written is not None:
            assert fileio.output_format_for(f"out{suffix}") == written
        assert (suffix in fileio.RAY_INPUT_SUFFIXES) == ray
    assert set(fileio.EXTENSIONS.values()) == set(fileio.FORMATS)
    assert fileio.input_format("jobs.csv.gz") == ("csv", True)
    assert fileio.output_gzipped("out.jsonl.gz") and fileio.output_format_for("o.tsv.gz") == "tsv"


def test_a_header_read_from_a_stream_as_the_csv_reader_reads_it() -> None:
    raw = b'\xef\xbb\xbfid;"long\ntitle";text\n1;2;3\n'
    assert fileio.read_header(io.BytesIO(raw), "csv", "a.csv") == (
        ["id", "long\ntitle", "text"],
        ";",
    )
    assert fileio.read_header(io.BytesIO(raw), "csv", "a.csv", ",")[1] == ","
    assert fileio.read_header(io.BytesIO(b'{"a": 1, "b": 2}\n{"c": 3}\n'), "jsonl", "a.jsonl") == (
        ["a", "b"],
        None,
    )
    with pytest.raises(fileio.CsvInputError, match="not a JSON object"):
        fileio.read_header(io.BytesIO(b"[1, 2]\n"), "jsonl", "a.jsonl")
    with pytest.raises(fileio.CsvInputError, match="UTF-16"):
        fileio.read_header(io.BytesIO("id,text\n".encode("utf-16")), "csv", "a.csv")


@pytest.mark.parametrize("module", ["labelling/ray.py", "labelling/ray_files.py", "shares/feed.py"])
def test_no_command_reads_formats_on_its_own(module: str) -> None:
    """No own suffix table, no csv module, no sniffing: formats come from io/."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "csv" not in imported and "json" not in imported
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert not any(str(k).startswith(".") for k in keys), f"{module}: a suffix table"
        if isinstance(node, ast.ImportFrom) and node.module:
            assert "csvio" not in node.module and "readers" != node.module
