"""Label a pandas DataFrame: DataFrame in, DataFrame out, for notebooks.

:func:`label_dataframe` is ``label-csv`` for a frame already in memory: the same options
(:class:`.LabelOptions`), the same header rules (:func:`.options.check_header`), the same per-row
path (:func:`.rows.label_records`: checks, batched passes, errors and warnings) and the same added
columns (:meth:`.LabelOptions.columns`). It adds no reader and no scorer of its own. pandas is
imported only when it is called (it is not a dependency of the package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._extras import require_extra
from ..progress import progress_bar
from ..threads import thread_limits
from .errors import LabelCsvError
from .local import ModelSpec, resolve_model
from .options import LabelOptions, check_header, column_types
from .rows import label_records

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["label_dataframe"]


class _Default(str):
    """A column name left at its default, told apart from the same name given explicitly."""


_TEXT = _Default("description")
_TITLE = _Default("title")


def label_dataframe(
    df: pd.DataFrame,
    text_column: str = _TEXT,
    title_column: str | None = _TITLE,
    options: LabelOptions | None = None,
    *,
    model: ModelSpec = "default",
    progress: bool = False,
    workers: int | None = None,
    **fields: Any,
) -> pd.DataFrame:
    """A new DataFrame: every row of ``df``, in order, with its index and columns, plus the
    columns ``label-csv`` adds (``predicted_role``, ``confidence``, ..., ``review``, ``error``).

    A row that cannot be classified (missing, empty or HTML-only text, a cell that is not a
    string) gets a reason in ``error`` and empty predictions; a row classified with a caveat (not
    English, a title and no text) gets ``warning: ...``. No row is lost and one bad row never
    fails the frame. ``confidence`` and the score columns are floats (NaN where empty).

    Args:
        df: the postings, one per row.
        text_column: the column holding the description.
        title_column: the column holding the title; the default ``"title"`` is used when there
            is one, a name given explicitly must be there, None reads no title.
        options: a :class:`LabelOptions` instead of ``text_column``, ``title_column`` and
            ``fields``.
        model: a :class:`.RoleClassifier`, or what ``--model`` takes (``default``,
            ``zero-shot``, a saved model's folder).
        progress: a progress bar (rows, rows/s, ETA) on standard error or in the notebook.
        workers: threads for the model (one per core when None; see :mod:`.threads`).
        fields: :class:`LabelOptions` fields: ``top_k``, ``min_confidence``, ``evidence``,
            ``all_scores``, ``batch_size``.

    Raises:
        MissingColumnError: the text column, or a title column named explicitly, is not in
            ``df`` (the message lists its columns).
        ColumnClashError: a column name is repeated, or ``df`` already has an added column.
        LabelCsvError: an option out of range, or one that is for files only (``filters``:
            filter the frame with pandas instead).
        MissingExtraError: pandas is not installed.

    Example:
        >>> import pandas as pd  # doctest: +SKIP
        >>> df = pd.DataFrame({"title": ["ML Engineer", None],  # doctest: +SKIP
        ...                    "description": ["Train ranking models in PyTorch.", None]})
        >>> out = label_dataframe(df, all_scores=True)  # doctest: +SKIP
        >>> out[["predicted_role", "confidence", "error"]]  # doctest: +SKIP
          predicted_role  confidence       error
        0    ML Engineer       0.912        None
        1           None         NaN  empty text
    """
    require_extra("pandas")
    if not (hasattr(df, "columns") and hasattr(df, "index") and hasattr(df, "assign")):
        raise TypeError(
            f"label_dataframe takes a pandas DataFrame, not {type(df).__name__}; "
            "for a column of texts use clf.predict(texts)"
        )
    header = list(df.columns)
    options = _options(header, text_column, title_column, options, fields)
    check_header(header, options)  # a missing or repeated column: before the model loads
    clf = resolve_model(model)
    check_header(header, options, clf.labels)  # the score columns, now that labels are known
    names = [options.text_column] + ([options.title_column] if options.title_column else [])
    cells = [df.iloc[:, header.index(name)].tolist() for name in names]
    with progress_bar(progress, "labelling") as update, thread_limits(workers):
        values = label_records(clf, list(zip(*cells)), names, options, progress=update)
    return _with_columns(df, options.columns(clf.labels), values)


def _options(
    header: Sequence[Any],
    text_column: str,
    title_column: str | None,
    options: LabelOptions | None,
    fields: dict[str, Any],
) -> LabelOptions:
    """The job's options: given whole, or built from the columns and fields (the default title
    column is dropped when ``df`` has none)."""
    if options is not None:
        named = (("text_column", text_column), ("title_column", title_column))
        given = [k for k, v in named if not isinstance(v, _Default)]
        if fields or given:
            raise TypeError(f"give options or its fields, not both: {sorted([*fields, *given])}")
    else:
        if isinstance(title_column, _Default) and title_column not in header:
            title_column = None
        options = LabelOptions(
            text_column=_plain(text_column), title_column=_plain(title_column), **fields
        )
    files_only = [
        name
        for name, value in (
            ("filters", options.filters),
            ("delimiter", options.delimiter),
            ("output_format", options.output_format),
        )
        if value
    ]
    if files_only:
        raise LabelCsvError(
            f"{', '.join(files_only)}: for files, not DataFrames; filter the frame with pandas "
            "(df[df['col'].isin([...])]) and write the result with to_csv or to_parquet"
        )
    return options


def _plain(name: Any) -> Any:
    """A default column name as a plain ``str`` (options hold no sentinel)."""
    return str(name) if isinstance(name, _Default) else name


def _with_columns(df: pd.DataFrame, columns: list[str], values: list[list[Any]]) -> pd.DataFrame:
    """``df`` with the added columns: floats as float64 (NaN where empty), the rest objects
    (None where empty, a list of sentences for ``evidence``), set by position (any index)."""
    arrays: dict[str, np.ndarray] = {}
    for i, (name, kind) in enumerate(zip(columns, column_types(columns))):
        column = [row[i] for row in values]
        if kind == "float":
            arrays[name] = np.array([np.nan if v is None else v for v in column], dtype=float)
        else:
            arrays[name] = np.empty(len(column), dtype=object)
            for j, value in enumerate(column):  # one by one: a list of sentences is one cell
                arrays[name][j] = value
    return df.assign(**arrays)
