"""The Ray engine's files: finding the input files (a file, folder or glob on any filesystem
pyarrow knows), checking their columns as the local engine checks a header, and reading and
writing them with Ray Data's own readers and writers.

Formats come from the one suffix table (:data:`role_classifier.io.RAY_INPUT_SUFFIXES`) and
headers are read by :func:`role_classifier.io.read_header`, as the local engine reads them.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections import Counter
from pathlib import Path
from typing import Any

from .. import io as fileio
from .errors import ColumnClashError, InputFormatError, LabelCsvError
from .options import LabelOptions, check_header, column_index

__all__ = [
    "InputFile",
    "check_input",
    "check_output",
    "count_written",
    "explain_read_error",
    "filesystem_of",
    "input_delimiter",
    "input_files",
    "read_dataset",
    "write_dataset",
]

_GLOB = re.compile(r"[*?\[]")


# -- finding the input -------------------------------------------------------------------------
class InputFile:
    """One input file: where, its format and size."""

    def __init__(self, path: str, fmt: str, size: int) -> None:
        self.path, self.fmt, self.size = path, fmt, size

    def __repr__(self) -> str:
        return f"InputFile({self.path!r}, {self.fmt!r}, {self.size})"


def filesystem_of(location: str) -> tuple[Any, str]:
    from pyarrow import fs as pafs

    if "://" in location:
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), str(Path(location).expanduser().resolve())


def input_files(input: str | Path) -> tuple[Any, list[InputFile], list[str]]:
    """The data files of INPUT: a file, a folder (searched recursively) or a glob.

    Files named ``.x`` or ``_x`` are skipped (``_SUCCESS``, ``.crc``), as are files whose
    extension is not a known format when INPUT is a folder or glob, and empty (0-byte) files.

    Returns:
        (pyarrow filesystem, files sorted by path, notes about skipped files).

    Raises:
        LabelCsvError: nothing there, an unknown format, or no data file found.
    """
    from pyarrow import fs as pafs

    text = str(input)
    glob = _GLOB.search(text)
    if glob is None:
        filesystem, path = filesystem_of(text)
        info = filesystem.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise LabelCsvError(f"{text}: no such file or folder")
        if info.type == pafs.FileType.File:
            fmt = _input_format(path)
            if fmt is None:
                raise LabelCsvError(
                    f"{text}: unknown input format; use .csv, .parquet or .jsonl files "
                    "(.xlsx and .gz inputs need --engine local)"
                )
            infos = [info]
        else:
            infos = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
        pattern = None
    else:
        head = text[: glob.start()]
        base = head.rsplit("/", 1)[0] if "/" in head else "."
        filesystem, base_path = filesystem_of(base or "/")
        pattern = base_path.rstrip("/") + "/" + text[len(base) :].lstrip("/")
        try:
            infos = filesystem.get_file_info(pafs.FileSelector(base_path, recursive=True))
        except FileNotFoundError:
            infos = []
    files, notes, empty, unknown = [], [], [], []
    for info in sorted(infos, key=lambda i: i.path):
        if info.type != pafs.FileType.File:
            continue
        if pattern is not None and not fnmatch.fnmatchcase(info.path, pattern):
            continue
        name = info.path.rsplit("/", 1)[-1]
        if name.startswith((".", "_")):
            continue
        fmt = _input_format(name)
        if fmt is None:
            unknown.append(name)
        elif not info.size:
            empty.append(info.path)
        else:
            files.append(InputFile(info.path, fmt, int(info.size)))
    if unknown:
        notes.append(f"skipped {len(unknown)} file(s) of unknown format: {', '.join(unknown[:5])}")
    if empty:
        notes.append(f"skipped {len(empty)} empty (0-byte) file(s): {', '.join(empty[:5])}")
    if not files:
        if empty:
            raise InputFormatError(
                f"{text}: the input is empty (0-byte files only): expected a header row "
                "naming the columns"
            )
        raise LabelCsvError(f"{text}: no .csv, .parquet or .jsonl files found")
    return filesystem, files, notes


def _input_format(name: str) -> str | None:
    """The format Ray Data reads a file as, from the one suffix table (None: not a Ray input)."""
    suffixes = Path(name.lower()).suffixes
    return fileio.RAY_INPUT_SUFFIXES.get(suffixes[-1]) if suffixes else None


def _columns_of(filesystem: Any, f: InputFile, delimiter: str = ",") -> list[str]:
    """The column names of one input file: its schema (Parquet), else its header as the local
    engine reads it (:func:`role_classifier.io.read_header`)."""
    if f.fmt == "parquet":
        import pyarrow.parquet as pq

        with filesystem.open_input_file(f.path) as handle:
            return list(pq.read_schema(handle).names)
    with filesystem.open_input_stream(f.path) as handle:
        try:
            return fileio.read_header(handle, f.fmt, f.path, delimiter)[0]
        except fileio.CsvInputError as exc:
            raise InputFormatError(str(exc)) from None


def _check_columns(path: str, names: list[str], options: LabelOptions, labels: list[str]) -> None:
    """The local engine's header rules (:func:`.check_header`), and unique names for Ray."""
    where = f"{path}: "
    try:
        column_index(names, options.text_column, "text")
        if options.title_column is not None:
            column_index(names, options.title_column, "title")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ColumnClashError(
                f"column(s) {', '.join(map(repr, repeated))} appear more than once; Ray Data "
                "needs unique column names: rename the copies"
            )
        check_header(names, options, labels)
    except LabelCsvError as exc:
        raise type(exc)(where + str(exc)) from exc


def check_input(
    input: str | Path,
    options: LabelOptions | None = None,
    labels: list[str] | None = None,
    **fields: Any,
) -> tuple[Any, list[InputFile], list[str], list[str]]:
    """Find the input files and check every file's columns, before Ray starts.

    Args:
        input: a file, folder or glob.
        options: the job's options, or its fields as keywords.
        labels: the model's labels (for the ``all_scores`` columns).

    Returns:
        (filesystem, files, column names, notes).

    Raises:
        MissingColumnError, ColumnClashError, InputFormatError, LabelCsvError: exit 2 material.
    """
    options = options if options is not None else LabelOptions(**fields)
    filesystem, files, notes = input_files(input)
    delimiter = input_delimiter(filesystem, files, options)
    first: list[str] | None = None
    for f in files:
        names = _columns_of(filesystem, f, delimiter)
        _check_columns(f.path, names, options, labels or [])
        if first is None:
            first = names
        elif set(names) != set(first):
            raise LabelCsvError(
                f"{f.path} has columns {names} but {files[0].path} has {first}: all input "
                "files of one run need the same columns"
            )
    assert first is not None
    return filesystem, files, first, notes


def input_delimiter(filesystem: Any, files: list[InputFile], options: LabelOptions) -> str:
    """The CSV inputs' delimiter: given, or sniffed from the first CSV file's header as the
    local engine sniffs it (``,`` when there is no CSV file)."""
    csv_file = next((f for f in files if f.fmt == "csv"), None)
    if options.delimiter is not None:
        return options.delimiter
    if csv_file is None:
        return ","
    with filesystem.open_input_stream(csv_file.path) as handle:
        try:
            return fileio.read_header(handle, "csv", csv_file.path)[1] or ","
        except fileio.CsvInputError as exc:
            raise InputFormatError(str(exc)) from None


def check_output(filesystem: Any, path: str, shown: str) -> None:
    from pyarrow import fs as pafs

    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.File:
        raise LabelCsvError(f"OUTPUT {shown} is a file: --engine ray writes a folder of part files")
    if info.type == pafs.FileType.Directory and filesystem.get_file_info(
        pafs.FileSelector(path, recursive=False)
    ):
        raise LabelCsvError(
            f"OUTPUT {shown} is not empty: write to a new folder (Ray Data cannot resume or "
            "replace part files; delete it to start over)"
        )


def _csv_options(names: list[str], delimiter: str) -> tuple[Any, Any]:
    """pyarrow's CSV parse and convert options: every cell as text, exactly as written ("007"
    stays "007", "NA" stays "NA", an empty cell is ""), quoted newlines inside cells."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return parse, convert


def read_dataset(filesystem: Any, files: list[InputFile], names: list[str], delimiter: str) -> Any:
    """One dataset of all input files: Ray's own reader per format, then a union."""
    import ray

    parts = []
    by_format: dict[str, list[str]] = {}
    for f in files:
        by_format.setdefault(f.fmt, []).append(f.path)
    for fmt, paths in sorted(by_format.items()):
        if fmt == "csv":
            parse, convert = _csv_options(names, delimiter)
            ds = ray.data.read_csv(
                paths,
                filesystem=filesystem,
                convert_options=convert,
                parse_options=parse,
                file_extensions=None,
            )
        elif fmt == "parquet":
            ds = ray.data.read_parquet(paths, filesystem=filesystem, file_extensions=None)
        else:
            ds = ray.data.read_json(paths, filesystem=filesystem, file_extensions=None)
        parts.append(ds)
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def write_dataset(ds: Any, fmt: str, filesystem: Any, path: str) -> None:
    if fmt == "parquet":
        ds.write_parquet(path, filesystem=filesystem)
    elif fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
        ds.write_csv(
            path,
            filesystem=filesystem,
            arrow_csv_args_fn=functools.partial(_csv_write_args, delimiter),
        )
    else:
        ds.write_json(path, filesystem=filesystem, pandas_json_args_fn=_json_write_args)


def _csv_write_args(delimiter: str) -> dict[str, Any]:
    """Quote only where needed, like the local writer."""
    from pyarrow import csv as pacsv

    options = pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed")
    return {"write_options": options}


def _json_write_args() -> dict[str, Any]:
    return {"force_ascii": False}  # UTF-8, like the local writer


def count_written(
    filesystem: Any, path: str, fmt: str, below_column: bool
) -> tuple[int, int, int, int, Counter[str], int]:
    """Rows, errors, warnings, rows below ``min_confidence``, label counts and rows to review
    of the written part files, reading only those columns back."""
    import pyarrow as pa
    import pyarrow.dataset as pads
    from pyarrow import csv as pacsv

    wanted = ["predicted_role", "error", "review"]
    if below_column:
        wanted.append("role_below_threshold")
    if fmt in ("csv", "tsv"):
        file_format: Any = pads.CsvFileFormat(
            parse_options=pacsv.ParseOptions(
                delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in wanted},
                strings_can_be_null=False,
                include_columns=wanted,
            ),
        )
    elif fmt == "jsonl":
        file_format = pads.JsonFileFormat()
    else:
        file_format = "parquet"
    dataset = pads.dataset(path, filesystem=filesystem, format=file_format)
    rows = errors = warnings = below = to_review = 0
    counts: Counter[str] = Counter()
    for record_batch in dataset.to_batches(columns=wanted):
        columns = [record_batch.column(i).to_pylist() for i in range(len(wanted))]
        rows += record_batch.num_rows
        for label, message, band, *rest in zip(*columns):
            if label:
                counts[label] += 1
                warnings += bool(message)
                below += bool(rest and rest[0])
                to_review += band == "review"
            else:
                errors += 1
    return rows, errors, warnings, below, counts, to_review


def explain_read_error(
    exc: BaseException, filesystem: Any, names: list[str], delimiter: str
) -> BaseException:
    """A one-line LabelCsvError for a CSV file Ray's reader refused (its error names the file
    but drops pyarrow's reason, so the file is parsed again here to find the reason)."""
    found = re.search(r"Failed to read CSV file: (.+?)\. Please check", str(exc))
    if found is None:
        return exc
    path = found.group(1)
    reason = _csv_problem(filesystem, path, names, delimiter) or "not readable as CSV"
    if re.search(r"Expected \d+ columns, got \d+", reason):
        return InputFormatError(
            f"{path}: a row does not match the header ({reason}). Ray's CSV reader cannot keep "
            "such rows: fix them, or use --engine local, which keeps them as error rows"
        )
    if "UTF8" in reason or "UTF-8" in reason:
        return InputFormatError(
            f"{path}: {reason}. The input is not valid UTF-8: convert it, or use --engine local, "
            "which reads such rows with a warning"
        )
    return InputFormatError(f"{path}: {reason}")


def _csv_problem(filesystem: Any, path: str, names: list[str], delimiter: str) -> str | None:
    """pyarrow's reason for refusing a CSV file, read with the options Ray used (None: no error)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    parse, convert = _csv_options(names, delimiter)
    try:
        with filesystem.open_input_stream(path) as f:
            reader = pacsv.open_csv(f, parse_options=parse, convert_options=convert)
            for _ in reader:
                pass
    except (pa.ArrowInvalid, OSError) as exc:
        return " ".join(str(exc).split())
    return None
