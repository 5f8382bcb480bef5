"""A labelled feed as ``shares`` reads it: the score columns, ``error`` and the columns asked
for, never the text, and without pandas.

Formats follow the file's suffix as ``label-csv`` names its outputs: CSV and TSV through
pyarrow's CSV reader (only the columns needed are converted, every cell as text), Parquet
through pyarrow (only those columns are read), JSON lines and Excel through
:func:`role_classifier.io.open_input`; ``.gz`` after CSV, TSV or JSON lines. A pandas
DataFrame is read as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import io as fileio
from ..labelling.options import SCORE_PREFIX
from ..text import is_missing
from .methods import SharesInputError

__all__ = ["ERROR_COLUMN", "Feed", "read_feed"]

ERROR_COLUMN = "error"
"""label-csv's column: empty when fine, ``warning: ...`` when classified, else why not."""


@dataclass
class Feed:
    """The columns of a labelled feed that ``shares`` uses.

    Attributes:
        name: the file name, or ``the frame``.
        columns: ``{name: cells}`` for the columns asked for and ``error`` (cells as read:
            text in CSV, values in the other formats).
        labels: the labels of the score columns, in the file's order.
        scores: the (n, k) scores, NaN where a cell is empty or not a number.
    """

    name: str
    columns: dict[str, list[Any]]
    labels: tuple[str, ...]
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def error_rows(self) -> np.ndarray:
        """Rows with an error that is not a ``warning:``, or without scores."""
        errors = self.columns.get(ERROR_COLUMN, [None] * len(self))
        bad = np.array([_is_error(e) for e in errors], dtype=bool).reshape(len(self))
        return bad | np.isnan(self.scores).any(axis=1)

    def take(self, keep: np.ndarray) -> Feed:
        """The rows where ``keep`` is True."""
        index = np.flatnonzero(keep)
        columns = {k: [v[i] for i in index] for k, v in self.columns.items()}
        return Feed(self.name, columns, self.labels, self.scores[index])


def read_feed(
    source: Any,
    columns: Sequence[str] = (),
    prefix: str = SCORE_PREFIX,
    *,
    optional: Sequence[str] = (),
) -> Feed:
    """The score columns, ``error`` (where present) and ``columns`` of a labelled feed.

    Args:
        source: a file (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet``/``.pq``,
            ``.xlsx``; ``.gz`` after CSV, TSV or JSON lines) or a pandas DataFrame.
        columns: the other columns needed (groups, dates, titles).
        prefix: the score columns' prefix.
        optional: columns read where the feed has them (absent from :attr:`Feed.columns`
            where it does not).

    Raises:
        SharesInputError: no such file, an unknown extension, a column of ``columns`` that is not there, or
            no score columns.
    """
    wanted = list(dict.fromkeys(columns))
    if hasattr(source, "columns") and hasattr(source, "to_dict"):  # a pandas DataFrame
        name = "the frame"
        header = [str(c) for c in source.columns]
        keep = _pick(name, header, wanted, prefix, optional)
        data = {c: source[c].tolist() for c in keep}
    else:
        path = Path(source)
        name = str(path)
        fmt = _format(path)
        if not path.is_file():
            raise SharesInputError(f"{path}: no such file")
        try:
            data = _read(path, fmt, lambda header: _pick(name, header, wanted, prefix, optional))
        except fileio.CsvInputError as exc:
            raise SharesInputError(str(exc)) from None
    score_cols = [c for c in data if c.startswith(prefix)]
    scores = np.column_stack([_numbers(data.pop(c)) for c in score_cols])
    labels = tuple(c[len(prefix) :] for c in score_cols)
    return Feed(name, data, labels, scores.reshape(-1, len(score_cols)))


def _format(path: Path) -> str:
    try:  # label-csv's own rule, .gz included
        return fileio.output_format_for(path)
    except fileio.OutputPathError:
        raise SharesInputError(
            f"{path}: unknown extension {path.suffix!r} (one of {', '.join(fileio.EXTENSIONS)}, "
            "or .csv.gz, .tsv.gz, .jsonl.gz)"
        ) from None


def _pick(
    name: str, header: Sequence[str], wanted: list[str], prefix: str, optional: Sequence[str] = ()
) -> list[str]:
    """The columns to read: those asked for, the optional ones and ``error`` where present,
    the score columns."""
    wanted = wanted + [c for c in optional if c in header and c not in wanted]
    missing = [c for c in wanted if c not in header]
    if missing:
        shown = ", ".join(repr(c) for c in header if not c.startswith(prefix))
        raise SharesInputError(f"{name} has no column {missing[0]!r} (its columns: {shown})")
    scores = [c for c in header if c.startswith(prefix)]
    if not scores:
        raise SharesInputError(
            f"{name} has no {prefix}<Role> columns: run label-csv with --all-scores"
        )
    return list(
        dict.fromkeys([*wanted, *([ERROR_COLUMN] if ERROR_COLUMN in header else []), *scores])
    )


def _read(path: Path, fmt: str, pick: Any) -> dict[str, list[Any]]:
    """The columns ``pick`` chooses from the file's header, read in format ``fmt``."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        keep = pick(pq.read_schema(path).names)
        return pq.read_table(path, columns=keep).to_pydict()
    if fmt in ("csv", "tsv"):
        return _read_csv(path, fmt, pick)
    with fileio.open_input(path) as reader:  # JSON lines, Excel: the project's readers
        keep = pick(reader.header)
        index = [reader.header.index(c) for c in keep]
        data: dict[str, list[Any]] = {c: [] for c in keep}
        for record in reader:
            if record.blank:
                continue
            cells = record.cells if record.error is None else []
            for c, i in zip(keep, index):
                data[c].append(cells[i] if i < len(cells) else None)
    return data


def _read_csv(path: Path, fmt: str, pick: Any) -> dict[str, list[Any]]:
    """CSV or TSV through pyarrow: only the columns needed are converted, all as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = "\t" if fmt == "tsv" else ","
    with fileio.open_input(path, delimiter=delimiter) as reader:
        keep = pick(reader.header)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=keep,
                column_types={c: pa.string() for c in keep},
                strings_can_be_null=False,  # a country 'NA' is a country; empty cells are ''
                check_utf8=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise SharesInputError(f"{path} is not a readable {fmt.upper()}: {exc}") from None
    return {c: _texts(table.column(c)) for c in keep}


def _texts(column: Any) -> list[str]:
    """A pyarrow string column as text (bytes that are not UTF-8 replaced, as the reader does)."""
    import pyarrow as pa

    binary = column.cast(pa.binary())
    return [
        b.decode("utf-8", errors="replace") if b is not None else "" for b in binary.to_pylist()
    ]


def _numbers(values: list[Any]) -> np.ndarray:
    """Cells as floats: NaN where empty or not a number."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, bool) or v is None:
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def _is_error(value: Any) -> bool:
    if is_missing(value):
        return False
    text = str(value).strip()
    return bool(text) and not text.startswith("warning:")
