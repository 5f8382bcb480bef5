"""The one table from a file's suffix to its format, reader and writer, and the rules that go
with it: which input and output names mean what, delimiters, and the errors a path can raise.

:data:`SUFFIXES` is that table (suffix: what it is read as, what it is written as, whether
the Ray engine reads it); every other mapping here is derived from it.

``.gz`` after a CSV, TSV or JSON lines suffix means gzip-compressed (read and written, local
engine only). Any other input name, and ``-``, is read as CSV; an output name must be in the
table (or ``--format`` given).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

__all__ = [
    "DELIMITERS",
    "EXTENSIONS",
    "FORMATS",
    "INPUT_SUFFIXES",
    "RAY_INPUT_SUFFIXES",
    "SUFFIXES",
    "CsvInputError",
    "OutputPathError",
    "check_output_path",
    "delimiter_name",
    "input_format",
    "output_format_for",
    "output_gzipped",
    "parse_delimiter",
    "sniff_delimiter",
]

SUFFIXES: dict[str, tuple[str, str | None, bool]] = {
    # suffix: (read as, written as, a Ray input)
    ".csv": ("csv", "csv", True),
    ".tsv": ("csv", "tsv", False),
    ".jsonl": ("jsonl", "jsonl", True),
    ".ndjson": ("jsonl", "jsonl", True),
    ".json": ("jsonl", None, True),
    ".parquet": ("parquet", "parquet", True),
    ".pq": ("parquet", "parquet", True),
    ".xlsx": ("xlsx", "xlsx", False),
    ".xlsm": ("xlsx", None, False),
}
"""The one table: every reader and writer is chosen through it."""
FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")
"""The output formats (``--format``)."""
EXTENSIONS = {suffix: out for suffix, (_, out, _) in SUFFIXES.items() if out is not None}
"""Output suffix -> format."""
INPUT_SUFFIXES = {suffix: read for suffix, (read, _, _) in SUFFIXES.items()}
"""Input suffix -> format; ``.gz`` after a CSV or JSON lines suffix means gzip-compressed. Any
other name is read as CSV."""
RAY_INPUT_SUFFIXES = {suffix: read for suffix, (read, _, ray) in SUFFIXES.items() if ray}
"""The inputs the Ray engine reads (plain files: Ray Data's own readers)."""
DELIMITERS = (",", ";", "\t", "|")

_REFUSED = {
    ".xls": "an old Excel (.xls) workbook: save it as .xlsx or CSV",
    ".zip": "a zip archive: unpack it first",
    ".bz2": "bzip2-compressed: decompress it, or recompress it with gzip (.gz)",
    ".xz": "xz-compressed: decompress it, or recompress it with gzip (.gz)",
    ".zst": "zstd-compressed: decompress it, or recompress it with gzip (.gz)",
}
_MAGIC = {
    b"\x1f\x8b": ("gzip-compressed", ".gz"),
    b"PK\x03\x04": ("a zip file (an Excel workbook?)", ".xlsx"),
    b"PAR1": ("a Parquet file", ".parquet"),
    b"\xd0\xcf\x11\xe0": ("an old Excel (.xls) workbook", None),
}


class CsvInputError(UserError):
    """An input file that cannot be read (a CSV without a header, a truncated gzip, a file that
    is not Parquet or Excel, ...); the message names the file and says why."""


class OutputPathError(UserError):
    """An output path that cannot be written as asked; the message says what to do."""


def parse_delimiter(value: str | None) -> str | None:
    """A ``--delimiter`` value as one character: ``,`` ``;`` ``|``, or ``tab`` / ``\\t`` for a tab.

    Example:
        >>> parse_delimiter("tab"), parse_delimiter(";"), parse_delimiter(None)
        ('\\t', ';', None)
    """
    if value is None:
        return None
    if value.lower() in ("tab", "\\t", "\t"):
        return "\t"
    if len(value) != 1 or value in '"\r\n':
        raise CsvInputError(
            f"bad delimiter {value!r}: give one character such as ',' ';' '|', or 'tab'"
        )
    return value


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is shown to users: ``tab`` for a tab, else the character quoted."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of :data:`DELIMITERS` outside quotes."""
    outside = "".join(line.split('"')[::2])
    counts = [(outside.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    n, _, best = max(counts)
    return best if n else ","


def input_format(path: str | Path) -> tuple[str, bool]:
    """``(format, gzipped)`` of an input by its suffixes: ``csv``, ``jsonl``, ``parquet`` or
    ``xlsx``; any other name, and ``-``, is CSV.

    Raises:
        CsvInputError: a format that cannot be read (``.xls``, ``.zip``, ``.bz2``, a gzipped
            Parquet or Excel file), with what to do.

    Example:
        >>> input_format("jobs.jsonl.gz"), input_format("jobs.PARQUET"), input_format("-")
        (('jsonl', True), ('parquet', False), ('csv', False))
    """
    suffixes = [s.lower() for s in Path(str(path)).suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in _REFUSED:
        raise CsvInputError(f"{path} is {_REFUSED[last]}")
    gzipped = last == ".gz"
    inner = suffixes[-2] if gzipped and len(suffixes) > 1 else "" if gzipped else last
    fmt = INPUT_SUFFIXES.get(inner, "csv")
    if gzipped and fmt in ("parquet", "xlsx"):
        raise CsvInputError(
            f"{path}: a gzipped {fmt} file cannot be read (it is compressed inside already): "
            "decompress it first"
        )
    return fmt, gzipped


def output_format_for(
    output: str | Path, output_format: str | None = None, *, folder_default: str | None = None
) -> str:
    """``csv``, ``tsv``, ``jsonl``, ``parquet`` or ``xlsx``: ``output_format`` if given, else from
    the extension (``-`` is CSV). The one output-format rule of every engine: with
    ``folder_default`` (the Ray engine's folder of part files), a name without a known
    extension is that format instead of an error. A ``.gz`` after the extension
    (``labelled.csv.gz``) is that format gzip-compressed (:func:`output_gzipped`).

    Raises:
        OutputPathError: an unknown format, an extension that names none (``.txt``, none
            at all) without ``output_format``, or ``.gz`` on parquet or Excel.

    Example:
        >>> output_format_for("labels.parquet"), output_format_for("-"), output_format_for("x.tsv")
        ('parquet', 'csv', 'tsv')
        >>> output_format_for("labels.jsonl.gz")
        'jsonl'
    """
    gzipped = output_gzipped(output)
    if output_format is not None:
        fmt = output_format.lower()
        if fmt not in FORMATS:
            raise OutputPathError(
                f"unknown output format {output_format!r}: use {', '.join(FORMATS)}"
            )
    elif str(output) == "-":
        return "csv"
    else:
        name = Path(str(output))
        suffix = (Path(name.stem) if gzipped else name).suffix.lower()
        if suffix in EXTENSIONS:
            fmt = EXTENSIONS[suffix]
        elif folder_default is not None:
            return folder_default
        else:
            known = ", ".join(EXTENSIONS)
            what = f"extension {suffix!r}" if suffix else "no extension"
            raise OutputPathError(
                f"OUTPUT {output} has {what}: name it with one of {known} (.csv.gz, .tsv.gz "
                f"or .jsonl.gz to compress), or pass --format ({', '.join(FORMATS)})"
            )
    if gzipped and fmt in ("parquet", "xlsx"):
        raise OutputPathError(
            f"OUTPUT {output}: {fmt} output is compressed inside already; drop the .gz"
        )
    return fmt


def output_gzipped(output: str | Path) -> bool:
    """Whether OUTPUT's name ends in ``.gz``: CSV, TSV or JSON lines written gzip-compressed.

    Example:
        >>> output_gzipped("labelled.csv.gz"), output_gzipped("labelled.csv"), output_gzipped("-")
        (True, False, False)
    """
    return str(output) != "-" and Path(str(output)).suffix.lower() == ".gz"


def check_output_path(output: str | Path) -> None:
    """Refuse an OUTPUT that is a directory or whose folder does not exist (``-`` is fine).

    Example:
        >>> check_output_path("/")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        OutputPathError: OUTPUT / is a directory: ...
    """
    if str(output) == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise OutputPathError(
            f"OUTPUT {path} is a directory: give a file name, e.g. {path / 'labelled.csv'}"
        )
    parent = path.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"the folder of OUTPUT, {parent}, does not exist: create it first "
            f"(mkdir -p {parent}) or write somewhere else"
        )
