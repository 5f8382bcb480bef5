"""Dates of a feed's date column, read one way for the whole column, without pandas.

:func:`read_dates` turns the cells of a column (text, or the dates and timestamps that JSON
lines, Parquet and Excel hold) into calendar dates, and says what it could not read:

* ISO 8601: ``2024``, ``2024-03``, ``2024-03-15``, ``2024-03-15T10:00:00Z`` (a time with an
  offset is moved to UTC first);
* quarters: ``Q1 2024``, ``2024 Q1``, ``2024-Q1``, ``2024Q1`` (the quarter's first day);
* month names: ``Mar 2024``, ``March 2024``, ``15 March 2024``, ``March 15, 2024``;
* numbers separated by ``/``, ``.`` or ``-``: ``15/03/2024``, ``03/04/2024``, ``3.4.24``. These
  read both ways when both numbers are 12 or less, so one order is chosen for the whole column:
  ``dayfirst`` when given; else day-first when some value can only be day-first (``15/03/2024``)
  and none only month-first, month-first otherwise. A column that holds dates that read both
  ways gets a warning with examples, and a value the chosen order cannot read is undated (never
  read the other way behind the user's back).

Example:
    >>> d = read_dates(["2024-03-15", "Q2 2024", "15/03/2024", "03/04/2024", "soon", None])
    >>> [str(x) if x else None for x in d.dates]
    ['2024-03-15', '2024-04-01', '2024-03-15', '2024-04-03', None, None]
    >>> d.undated_examples, d.dayfirst
    (['soon'], True)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .text import is_missing

__all__ = ["ReadDates", "period_of", "read_dates"]

_QUARTER = re.compile(r"^(?:[Qq]([1-4])[\s\-/]*(\d{4})|(\d{4})[\s\-/]*[Qq]([1-4]))$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_NAMED = ("%b %Y", "%B %Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y")
_EXAMPLES = 3


@dataclass
class ReadDates:
    """The dates of one column, and what a user should hear about them.

    Attributes:
        dates: per cell, its date, or None (missing or unreadable).
        dayfirst: the order numeric dates were read in (None when the column held none).
        undated_examples: a few distinct values that could not be read (not empty cells).
        warnings: one line per thing to say (dates that read both ways).
    """

    dates: list[dt.date | None]
    dayfirst: bool | None = None
    undated_examples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def undated(self) -> int:
        """Cells without a date (missing or unreadable)."""
        return sum(d is None for d in self.dates)


def read_dates(
    values: Sequence[Any], *, dayfirst: bool | None = None, column: str = "the date column"
) -> ReadDates:
    """Read a column of dates, numeric ones in one order for the whole column.

    Args:
        values: the column's cells (text, ``datetime``/``date`` objects, None).
        dayfirst: read ``03/04/2024`` as 3 April (True) or 4 March (False); None decides
            from the column (see the module docstring).
        column: the column's name, for the warning.

    Returns:
        a :class:`ReadDates`.
    """
    texts = [_text(v) for v in values]
    numeric = {t: m for t in set(texts) if t and (m := _NUMERIC.match(t))}
    order = dayfirst if dayfirst is not None else _decide_order(numeric.values())
    dates: list[dt.date | None] = []
    unreadable: dict[str, None] = {}
    cache: dict[str, dt.date | None] = {}
    for value, text in zip(values, texts):
        if not text:  # None, NaN, NaT, an empty cell
            dates.append(None)
            continue
        if isinstance(value, dt.datetime):
            dates.append(_utc(value).date())
            continue
        if isinstance(value, dt.date):
            dates.append(value)
            continue
        if text not in cache:
            m = numeric.get(text)
            cache[text] = _numeric(m, order) if m else _parse_text(text)
        if cache[text] is None:
            unreadable[text] = None
        dates.append(cache[text])
    out = ReadDates(dates, order if numeric else None, list(unreadable)[:_EXAMPLES])
    both = sorted(t for t, m in numeric.items() if _reads_both_ways(m))
    if both and dayfirst is None:
        how = "day-first (3 April)" if order else "month-first (4 March)"
        shown = ", ".join(both[:_EXAMPLES])
        out.warnings.append(
            f"{column}: {len(both)} distinct dates read both ways (e.g. {shown}): read "
            f"{how} for the whole column; pass --dayfirst (dayfirst=True) or dayfirst=False "
            "to say which"
        )
    return out


def period_of(date: dt.date, period: str) -> str:
    """The period a date falls in, written as pandas writes periods.

    Example:
        >>> d = dt.date(2024, 3, 15)
        >>> period_of(d, "month"), period_of(d, "quarter"), period_of(d, "year")
        ('2024-03', '2024Q1', '2024')
    """
    if period == "month":
        return f"{date.year:04d}-{date.month:02d}"
    if period == "quarter":
        return f"{date.year:04d}Q{(date.month - 1) // 3 + 1}"
    if period == "year":
        return f"{date.year:04d}"
    raise ValueError(f"unknown period {period!r}")


def _text(value: Any) -> str:
    if is_missing(value):  # None, NaN, NaT, pandas' NA
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _decide_order(matches: Any) -> bool:
    """Day-first when some value only reads day-first and none only month-first."""
    only_day = only_month = False
    for m in matches:
        a, b = int(m.group(1)), int(m.group(3))
        only_day |= a > 12 >= b
        only_month |= b > 12 >= a
    return only_day and not only_month


def _reads_both_ways(m: re.Match[str]) -> bool:
    a, b = int(m.group(1)), int(m.group(3))
    return a != b and 1 <= a <= 12 and 1 <= b <= 12


def _numeric(m: re.Match[str], dayfirst: bool) -> dt.date | None:
    a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if len(m.group(4)) == 2:
        year += 2000 if year < 70 else 1900
    day, month = (a, b) if dayfirst else (b, a)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _parse_text(text: str) -> dt.date | None:
    """A date from ISO 8601, a quarter, a year-month or a month name; None otherwise."""
    if m := _QUARTER.match(text):
        quarter, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return dt.date(int(year), 3 * int(quarter) - 2, 1)
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 1, 1)
    if m := _YEAR_MONTH.match(text):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            return None
    try:
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        return _utc(dt.datetime.fromisoformat(iso)).date()
    except ValueError:
        pass
    for fmt in _NAMED:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
