"""Input and output: one table from a file's suffix to its reader and writer, for every command.

``label-csv`` (both engines), ``train``, ``evaluate`` and ``shares`` read through here, and
``label-csv`` writes through here; no command looks at a suffix or sniffs a delimiter itself.

* :mod:`.formats`: the table (:data:`.formats.SUFFIXES`), what an input or output name means
  (:func:`input_format`, :func:`output_format_for`), delimiters, and the path errors.
* :mod:`.records`: the :class:`Record` and :class:`RecordReader` shape every reader gives,
  ``--filter`` (:class:`RowFilter`), a cell as text (:func:`cell_text`).
* :mod:`.csv_reader`: the one CSV reader (:class:`CsvReader`, :func:`open_csv`).
* :mod:`.readers`: :func:`open_input`, the one entry point: CSV, gzip, JSON lines, Parquet,
  Excel, standard input; counting rows for a progress bar.
* :mod:`.writers`: :class:`RowWriter` (every output format, standard output too),
  :class:`ParquetParts` (Parquet that resumes), :func:`count_output_rows`.
* :mod:`.checkpoints`: the checkpoint JSON of a resumable run.

Example:
    >>> from role_classifier.io import open_input
    >>> with open_input("jobs.jsonl.gz") as reader:  # doctest: +SKIP
    ...     header, cells = reader.header, [record.cells for record in reader]
"""

from __future__ import annotations

from .checkpoints import fsync, input_identity, load_checkpoint, save_checkpoint
from .csv_reader import CsvReader, decode_line, large_fields, open_csv, read_csv_header
from .formats import (
    DELIMITERS,
    EXTENSIONS,
    FORMATS,
    INPUT_SUFFIXES,
    RAY_INPUT_SUFFIXES,
    SUFFIXES,
    CsvInputError,
    OutputPathError,
    check_output_path,
    delimiter_name,
    input_format,
    output_format_for,
    output_gzipped,
    parse_delimiter,
    sniff_delimiter,
)
from .readers import (
    ExcelReader,
    JsonLinesReader,
    ParquetReader,
    count_lines,
    count_rows,
    first_json_keys,
    open_input,
    read_header,
)
from .records import Record, RecordReader, RowFilter, cell_text, parse_filters
from .writers import (
    EXCEL_CELL_CHARS,
    EXCEL_ROWS,
    ParquetParts,
    RowWriter,
    arrow_schema,
    count_output_rows,
    json_number,
    text_cell,
    unique_names,
)

__all__ = [
    "DELIMITERS",
    "EXCEL_CELL_CHARS",
    "EXCEL_ROWS",
    "EXTENSIONS",
    "FORMATS",
    "INPUT_SUFFIXES",
    "RAY_INPUT_SUFFIXES",
    "SUFFIXES",
    "CsvInputError",
    "CsvReader",
    "ExcelReader",
    "JsonLinesReader",
    "OutputPathError",
    "ParquetParts",
    "ParquetReader",
    "Record",
    "RecordReader",
    "RowFilter",
    "RowWriter",
    "arrow_schema",
    "cell_text",
    "check_output_path",
    "count_lines",
    "count_output_rows",
    "count_rows",
    "decode_line",
    "delimiter_name",
    "first_json_keys",
    "fsync",
    "input_format",
    "input_identity",
    "json_number",
    "large_fields",
    "load_checkpoint",
    "open_csv",
    "open_input",
    "output_format_for",
    "output_gzipped",
    "parse_delimiter",
    "parse_filters",
    "read_csv_header",
    "read_header",
    "save_checkpoint",
    "sniff_delimiter",
    "text_cell",
    "unique_names",
]
