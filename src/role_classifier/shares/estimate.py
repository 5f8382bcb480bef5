"""Every role's share of a labelled feed, per group and per period: the table and its rows.

:func:`role_shares` reads a feed (:mod:`.feed`), drops its error rows, puts each row in its
cell (its ``by`` values and its period, dates read by :func:`role_classifier.dates.read_dates`)
and estimates every cell with :mod:`.methods`; no pandas. :func:`estimate_shares` gives the
same table as a DataFrame; :func:`shares_table` as JSON-ready data.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._extras import require_extra
from ..dates import ReadDates, period_of, read_dates
from ..labelling.options import SCORE_PREFIX
from ..labelling.provenance import IN_MEMORY, meta_path, read_meta
from ..modeling.held_out import HELD_OUT_NAME, HeldOut
from ..modeling.names import DEFAULT_MODEL_DIR
from ..text import is_missing
from .feed import Feed, read_feed
from .methods import (
    DEFAULT_INTERVAL,
    DEFAULT_METHOD,
    INTERVALS,
    METHODS,
    MIN_GROUP,
    N_BOOT,
    SharesInputError,
    _normalise,
    bootstrap_shares,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PERIODS",
    "SHARE_COLUMNS",
    "UNDATED",
    "Shares",
    "estimate_shares",
    "read_scores",
    "role_shares",
    "shares_table",
]

PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}
UNDATED = "undated"
"""the period of rows whose date is missing or unparseable (kept out of the dated periods)."""
SHARE_COLUMNS = ["role", "share", "low", "high", "n", "method", "interval", "note"]
"""the columns after the ``by`` columns and ``period``."""
MISSING = "(missing)"
"""the group of rows whose ``by`` value is missing."""


@dataclass
class Shares:
    """The estimate: one row per group, period and role, and what was counted.

    Attributes:
        columns: the ``by`` columns, ``period``, then :data:`SHARE_COLUMNS`.
        rows: one tuple per group, period and role, in ``columns`` order.
        attrs: ``rows``, ``error_rows``, ``undated_rows``, ``undated_examples``, ``warnings``,
            ``used_rows``, ``method``, ``interval``, ``confidence``, ``n_boot``, ``labels``,
            ``period``.
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def groups(self) -> list[str]:
        """The ``by`` columns."""
        return self.columns[: len(self.columns) - len(SHARE_COLUMNS) - 1]

    def records(self) -> list[dict[str, Any]]:
        """One dict per row."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_csv(self, path: str | Path) -> None:
        """Write the table as CSV (long: one row a role), as ``shares --out`` does."""
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows(self.rows)

    def to_pandas(self) -> pd.DataFrame:
        """The table as a DataFrame, ``attrs`` included (needs pandas)."""
        import pandas as pd

        df = pd.DataFrame.from_records(self.rows, columns=self.columns)
        df.attrs.update(self.attrs)
        return df

    @classmethod
    def of(cls, table: Any) -> Shares:
        """A :class:`Shares` from itself or from :func:`estimate_shares`' DataFrame."""
        if isinstance(table, Shares):
            return table
        rows = list(table.itertuples(index=False, name=None))
        return cls([str(c) for c in table.columns], rows, dict(table.attrs))


def role_shares(
    frame_or_path: Any,
    *,
    by: str | Sequence[str] | None = None,
    date_column: str | None = None,
    period: str | None = None,
    title_column: str | None = None,
    method: str = DEFAULT_METHOD,
    held_out: HeldOut | str | Path | None = None,
    confidence: float = 0.9,
    n_boot: int = N_BOOT,
    seed: int = 0,
    min_group: int = MIN_GROUP,
    interval: str | None = None,
    dayfirst: bool | None = None,
) -> Shares:
    """Every role's share of a labelled feed, per group and per period, with intervals; no
    pandas needed (:func:`estimate_shares` gives the same as a DataFrame).

    Reads the ``score_<Role>`` columns that ``label-csv --all-scores`` writes (and ``error``):
    rows with an ``error`` that does not start with ``warning:`` (or without scores) are error
    rows, counted and not used.

    Args:
        frame_or_path: the labelled feed: a CSV/TSV/JSONL/Parquet file or a DataFrame.
        by: column(s) to estimate per value of (a missing value is its own group,
            ``(missing)``).
        date_column: a column of dates (``2024-03``, ``2024-03-15``, ISO timestamps,
            ``Q1 2024``, ``Mar 2024``, ``15/03/2024``: :func:`.dates.read_dates`); rows whose
            date is missing or unreadable go to the period ``undated``, counted in
            ``attrs['undated_rows']``, a few of the values in ``attrs['undated_examples']``.
        period: ``month`` (default with a date column), ``quarter`` or ``year``.
        title_column: the column label-csv read titles from (``--title-column``), so the
            correction uses the held-out rows scored the same way; None: the one recorded in
            the file's ``OUTPUT.meta.json``, else descriptions alone.
        method: one of :data:`METHODS`; the default is the one ``benchmarks/bench_shares.py``
            found most accurate on real postings (``cc``; see :data:`DEFAULT_METHOD`).
        held_out: the model's held-out data, or the model folder holding
            ``held_out.safetensors`` (``"default"`` and ``"zero-shot"`` as ``--model`` names
            them; a model other than the one recorded in the file's ``OUTPUT.meta.json`` is
            refused); None: the recorded model's, else the built-in default model's, where it
            has one (``cc`` and ``pcc`` do without; ``cc`` then decides by arg-max). ``cc`` counts
            the arg-max of the scores under the model's Other threshold, which is
            ``predicted_role`` unless label-csv ran with ``--min-confidence``.
        confidence: the coverage of the bootstrap intervals.
        n_boot: bootstrap replicates (0: no intervals, low = high = share).
        seed: seeds the resampling (each group's from the seed and the group).
        min_group: groups with fewer postings are marked in ``note`` (their share is still given).
        interval: ``shift`` or ``sampling`` (:data:`INTERVALS`); None: ``shift`` where the
            model has held-out data, else ``sampling``.
        dayfirst: read numeric dates (``03/04/2024``) day-first (True) or month-first (False)
            for the whole column; None decides from the column and, when some dates read both
            ways, says so in ``attrs['warnings']``.

    Returns:
        A :class:`Shares` table, one row per group, period and role (roles in the model's order):
        the ``by`` columns (as text), ``period`` (``all`` without a date column), ``role``,
        ``share``, ``low``, ``high``, ``n`` (postings of the group and period), ``method``,
        ``interval``, ``note`` (``too few postings (n < 30)`` or empty). ``attrs`` holds
        ``rows`` (read), ``error_rows``, ``undated_rows``, ``undated_examples``, ``warnings``,
        ``used_rows``, ``method``,
        ``interval``, ``confidence``, ``n_boot``, ``labels`` and ``period``. (the DataFrame of
        :func:`estimate_shares` keeps them in ``attrs``.)

    Raises:
        SharesInputError (a ValueError): a missing column, no score columns, score columns
            that are not the held-out's labels, scores that are not probabilities, a method that
            needs held-out data and has none, or no usable rows.

    Example:
        >>> table = role_shares("labelled.csv", by="source", date_column="posted",
        ...                     title_column="title", held_out="models/mine")  # doctest: +SKIP
        >>> table.records()[0]["share"], table.attrs["used_rows"]  # doctest: +SKIP
        (0.0123, 1200)
    """
    groups = [by] if isinstance(by, str) else list(by or [])
    _check_options(period, date_column, method, interval)
    held = _resolve_held_out(
        held_out, method in ("acc", "pacc", "em") or interval == "shift", frame_or_path
    )
    interval = interval or (DEFAULT_INTERVAL if held is not None else "sampling")
    recorded_title = _recorded(frame_or_path, "title_column") if title_column is None else None
    feed = read_feed(
        frame_or_path,
        [c for c in (*groups, date_column, title_column) if c],
        optional=[recorded_title] if recorded_title else [],
    )
    title_column = title_column or (recorded_title if recorded_title in feed.columns else None)
    labels, scores = _score_matrix(feed, held)
    bad = feed.error_rows()
    if bad.all():
        raise SharesInputError(f"no rows to estimate from: all {len(feed)} rows are error rows")
    _check_probabilities(scores[~bad])
    used, scores = feed.take(~bad), _normalise(scores[~bad])
    titled = np.zeros(len(used), bool)
    if title_column:
        titled = np.array([_filled(v) for v in used.columns[title_column]], dtype=bool)
    keys, dates = _cell_keys(used, groups, date_column, period, dayfirst)
    cells = _Cells(method, held, confidence, n_boot, seed, min_group, interval)
    rows = cells.shares(keys, scores, titled, labels)
    attrs = {
        "rows": len(feed),
        "error_rows": int(bad.sum()),
        "undated_rows": dates.undated if dates is not None else 0,
        "undated_examples": dates.undated_examples if dates is not None else [],
        "warnings": dates.warnings if dates is not None else [],
        "used_rows": int((~bad).sum()),
        "method": method,
        "interval": interval,
        "confidence": confidence,
        "n_boot": n_boot,
        "labels": list(labels),
        "period": (period or "month") if date_column else None,
        "title_column": title_column,
    }
    columns = [*groups, "period", *SHARE_COLUMNS]
    return Shares(columns, _sort(rows, len(groups), labels), attrs)


def estimate_shares(frame_or_path: Any, **options: Any) -> pd.DataFrame:
    """:func:`role_shares` as a pandas DataFrame (its ``attrs`` hold what was counted).

    Takes the same arguments. pandas is needed here only; ``role-classifier shares`` runs on
    the base install through :func:`role_shares`.

    Example:
        >>> df = estimate_shares("labelled.csv", by="source", date_column="posted",
        ...                      title_column="title", held_out="models/mine")  # doctest: +SKIP
        >>> df[df.role == "ML Engineer"][["source", "period", "share", "low", "high"]]  # doctest: +SKIP
    """
    require_extra("pandas", "estimate_shares (a DataFrame; role_shares needs no pandas)")
    return role_shares(frame_or_path, **options).to_pandas()


def read_scores(
    source: Any, columns: Sequence[str] = (), prefix: str = SCORE_PREFIX
) -> pd.DataFrame:
    """The score columns, ``error`` (where present) and ``columns`` of a labelled feed, as a
    DataFrame (:func:`.feed.read_feed` reads them; never the text).

    Raises:
        SharesInputError: an unknown extension, a column of ``columns`` that is not there, or
            no score columns.

    Example:
        >>> read_scores("labelled.parquet", ["country"]).columns[:2].tolist()  # doctest: +SKIP
        ['country', 'score_ML Researcher']
    """
    require_extra("pandas", "read_scores")
    import pandas as pd

    feed = read_feed(source, columns, prefix)
    frame = pd.DataFrame(feed.columns)
    for i, label in enumerate(feed.labels):
        frame[prefix + label] = feed.scores[:, i]
    return frame


def shares_table(table: Shares | pd.DataFrame) -> dict[str, Any]:
    """The estimate as JSON-ready data: what was counted (``attrs``) and one row per group,
    period and role (what ``shares --json`` prints and the API returns); floats to 4 places.

    Example:
        >>> shares_table(role_shares("labelled.csv"))["method"]  # doctest: +SKIP
        'cc'
    """
    table = Shares.of(table)
    attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in table.attrs.items()}
    rows = [{k: _json_cell(v) for k, v in r.items()} for r in table.records()]
    return {**attrs, "shares": rows}


def _json_cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _filled(value: Any) -> bool:
    """A cell with something in it (a title given)."""
    return not is_missing(value) and str(value).strip() != ""


def _check_options(
    period: str | None, date_column: str | None, method: str, interval: str | None
) -> None:
    if period is not None and period not in PERIODS:
        raise SharesInputError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")
    if period is not None and date_column is None:
        raise SharesInputError(f"period={period!r} needs a date_column")
    if method not in METHODS:
        raise SharesInputError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    if interval is not None and interval not in INTERVALS:
        raise SharesInputError(f"unknown interval {interval!r}: one of {', '.join(INTERVALS)}")


def _cell_keys(
    feed: Feed,
    groups: list[str],
    date_column: str | None,
    period: str | None,
    dayfirst: bool | None,
) -> tuple[list[tuple[str, ...]], ReadDates | None]:
    """Each row's cell (its value of every ``by`` column, then its period), and the dates as
    read (None without a date column)."""
    values = [[_group_value(v) for v in feed.columns[g]] for g in groups]
    if not date_column:
        periods = ["all"] * len(feed)
        dates = None
    else:
        dates = read_dates(feed.columns[date_column], dayfirst=dayfirst, column=date_column)
        periods = [period_of(d, period or "month") if d else UNDATED for d in dates.dates]
    return list(zip(*values, periods)), dates


def _group_value(value: Any) -> str:
    if is_missing(value):
        return MISSING
    return str(value)


@dataclass(frozen=True)
class _Cells:
    """How every cell (group and period) is estimated: the method, the held-out data it
    corrects with, and the bootstrap."""

    method: str
    held: HeldOut | None
    confidence: float
    n_boot: int
    seed: int
    min_group: int
    interval: str

    def shares(
        self,
        keys: list[tuple[str, ...]],
        scores: np.ndarray,
        titled: np.ndarray,
        labels: Sequence[str],
    ) -> list[tuple[Any, ...]]:
        """One row per cell and role: the share, its interval, the cell's size and note."""
        cells: dict[tuple[str, ...], list[int]] = {}
        for i, key in enumerate(keys):
            cells.setdefault(key, []).append(i)
        rows = []
        for key, where in cells.items():
            index = np.array(where)
            cell_seed = [self.seed, zlib.crc32(json.dumps([str(v) for v in key]).encode())]
            share, low, high = bootstrap_shares(
                scores[index],
                self.method,
                self.held,
                titled[index],
                confidence=self.confidence,
                n_boot=self.n_boot,
                seed=cell_seed,
                interval=self.interval,
            )
            small = len(index) < self.min_group
            note = f"too few postings (n < {self.min_group})" if small else ""
            for role, s, lo, hi in zip(labels, share, low, high):
                row = (role, float(s), float(lo), float(hi), len(index), self.method)
                rows.append((*key, *row, self.interval, note))
        return rows


def _sort(
    rows: list[tuple[Any, ...]], n_groups: int, labels: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Groups in order, periods in time order (``undated`` last), roles in the model's order."""
    order = {label: i for i, label in enumerate(labels)}

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        period = row[n_groups]
        return (*row[:n_groups], period == UNDATED, period, order[row[n_groups + 1]])

    return sorted(rows, key=key)


def _resolve_held_out(
    held_out: HeldOut | str | Path | None, needed: bool, source: Any
) -> HeldOut | None:
    """The held-out data: given; read from a model folder (``default`` and ``zero-shot`` as
    ``--model`` names them); else that of the model that labelled ``source`` (its
    ``OUTPUT.meta.json``); else the built-in default model's. None where there is none and the
    method can do without.

    Raises:
        SharesInputError: a model other than the one that labelled ``source``, or none where
            the method needs held-out data.
    """
    if isinstance(held_out, HeldOut):
        return held_out
    recorded = _recorded_model(source)
    if held_out is not None:
        asked = _model_key(held_out)
        if recorded is not None and asked is not None and asked != recorded:
            raise SharesInputError(
                f"{source} was labelled by model {recorded!r} ({meta_path(source).name}), not "
                f"{str(held_out)!r}: drop --model (held_out=) to use that model's held-out data"
            )
    model = str(held_out) if held_out is not None else recorded or "default"
    if model == "zero-shot" or model == IN_MEMORY:
        if not needed:
            return None
        what = "the zero-shot model" if model == "zero-shot" else "a model that was never saved"
        raise SharesInputError(
            f"{source} was labelled by {what}, which has no held-out data: use "
            "method 'cc' or 'pcc' with interval 'sampling'"
        )
    folder = DEFAULT_MODEL_DIR if model == "default" else Path(model)
    if not (folder / HELD_OUT_NAME).is_file() and not folder.is_file():
        if not needed:
            return None
        raise SharesInputError(
            f"{folder} has no {HELD_OUT_NAME} (the model's held-out data, which "
            "`role-classifier train` saves): retrain the model, pass held_out=, or use "
            "method='cc' or 'pcc'"
        )
    return HeldOut.load(folder)


def _recorded_model(source: Any) -> str | None:
    """The model recorded in a labelled file's ``OUTPUT.meta.json`` (None: a frame, or none)."""
    return _recorded(source, "model")


def _recorded(source: Any, key: str) -> Any:
    """A field of a labelled file's ``OUTPUT.meta.json`` (None: a frame, no record, no field)."""
    if not isinstance(source, (str, Path)):
        return None
    meta = read_meta(source)
    return meta.get(key) if meta is not None else None


def _model_key(model: str | Path) -> str | None:
    """A model as ``OUTPUT.meta.json`` records it: a built-in name or an absolute folder (None:
    a held-out file, which names no model)."""
    key = str(model).strip().lower().replace("_", "-")
    if key in ("default", "zero-shot"):
        return key
    path = Path(model)
    return str(path.resolve()) if path.is_dir() else None


def _score_matrix(feed: Feed, held: HeldOut | None) -> tuple[tuple[str, ...], np.ndarray]:
    """The labels and the (n, k) score matrix, columns in the held-out's label order."""
    if held is None:
        return feed.labels, feed.scores
    if sorted(feed.labels) != sorted(held.labels):
        extra = sorted(set(feed.labels) - set(held.labels))
        lacking = sorted(set(held.labels) - set(feed.labels))
        raise SharesInputError(
            f"{feed.name}: the score columns are not the model's labels (not in the model: "
            f"{extra or 'none'}; missing: {lacking or 'none'}): a file labelled by "
            "another model or taxonomy?"
        )
    position = {label: i for i, label in enumerate(feed.labels)}
    return held.labels, feed.scores[:, [position[label] for label in held.labels]]


def _check_probabilities(scores: np.ndarray) -> None:
    sums = scores.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if (scores < 0).any() or abs(sums[worst] - 1) > 0.02:
        raise SharesInputError(
            f"the score columns are not probabilities (a row sums to {sums[worst]:.3f}): "
            "expected label-csv --all-scores output"
        )
