"""What can go wrong with a labelling job, each a :class:`~role_classifier.errors.UserError`."""

from __future__ import annotations

from ..errors import UserError
from ..io import OutputPathError

__all__ = [
    "ColumnClashError",
    "InputFormatError",
    "LabelCsvError",
    "MissingColumnError",
    "NoMatchError",
    "OutputError",
    "OutputExistsError",
    "OutputIsInputError",
    "ResumeError",
    "RowCountError",
]


class LabelCsvError(UserError):
    """A problem with the input, output or options; the message says what to do."""


class MissingColumnError(LabelCsvError):
    """The text, title or a filter column is not in the header."""


class ColumnClashError(LabelCsvError):
    """The input already has a column the output would add, or names the text column twice."""


class NoMatchError(LabelCsvError):
    """The filters matched no row of the input (nothing would be labelled)."""


class OutputIsInputError(LabelCsvError):
    """OUTPUT is the same file as INPUT."""


class OutputError(LabelCsvError, OutputPathError):
    """OUTPUT cannot be written as asked: a directory, a missing folder, an unknown format."""


class OutputExistsError(LabelCsvError):
    """OUTPUT exists (a finished run) and ``overwrite`` was not given."""


class InputFormatError(LabelCsvError):
    """The input cannot be read as a CSV with a header (missing, empty, UTF-16, ...)."""


class ResumeError(LabelCsvError):
    """A leftover partial output without ``resume`` or ``overwrite``, a resume with nothing to
    resume, or a resume that does not match the partial run."""


class RowCountError(LabelCsvError):
    """The output does not hold exactly one row per input record (a bug; the output is kept
    as ``OUTPUT.partial`` for inspection)."""
