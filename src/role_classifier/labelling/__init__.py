"""Labelling jobs: every row of a file of postings, labelled, with nothing lost.

``options`` (:class:`LabelOptions`, the one options object, and the output columns), ``rows``
(the one per-row path of every engine), ``checkpoint`` (OUTPUT.partial and resume), ``summary``
(:class:`LabelSummary`), ``local`` (:func:`label_csv`, this process, streaming), ``frame``
(:func:`label_dataframe`, a pandas DataFrame in memory) and ``ray``
(:func:`~.ray.label_dataset` and :class:`~.ray.RoleLabeller`, imported only when asked for).
"""

from __future__ import annotations

from .checkpoint import can_resume, check_paths
from .errors import (
    ColumnClashError,
    InputFormatError,
    LabelCsvError,
    MissingColumnError,
    NoMatchError,
    OutputError,
    OutputExistsError,
    OutputIsInputError,
    ResumeError,
    RowCountError,
)
from .frame import label_dataframe
from .local import ProgressCallback, count_records, label_csv
from .options import SCORE_PREFIX, LabelOptions, output_columns
from .rows import label_records
from .summary import LabelSummary

__all__ = [
    "SCORE_PREFIX",
    "ColumnClashError",
    "InputFormatError",
    "LabelCsvError",
    "LabelOptions",
    "LabelSummary",
    "MissingColumnError",
    "NoMatchError",
    "OutputError",
    "OutputExistsError",
    "OutputIsInputError",
    "ProgressCallback",
    "ResumeError",
    "RowCountError",
    "can_resume",
    "check_paths",
    "count_records",
    "label_csv",
    "label_dataframe",
    "label_records",
    "output_columns",
]
