"""The picture of a role-shares table: one panel per group, each role's share over the periods
with its interval as a band (one period: dots with interval bars). Needs matplotlib (the
``report`` extra), not pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._extras import require_extra
from .estimate import UNDATED, Shares

__all__ = ["OTHER_COLOUR", "ROLE_COLOURS", "plot_shares", "role_colour"]

Row = dict[str, Any]

ROLE_COLOURS = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#17becf",  # cyan
    "#bcbd22",  # olive
)
"""one colour per role, by its position in the taxonomy (Other is always grey)."""
OTHER_COLOUR = "#7f7f7f"
_MAX_PANELS = 12


def role_colour(role: str, labels: Sequence[str], other_label: str = "Other") -> str:
    """The fixed colour of a role: by its position in ``labels``; Other grey."""
    if role == other_label:
        return OTHER_COLOUR
    index = [label for label in labels if label != other_label].index(role)
    return ROLE_COLOURS[index % len(ROLE_COLOURS)]


def plot_shares(
    table: Any,
    path: str | Path,
    *,
    roles: Sequence[str] | None = None,
    title: str | None = None,
    other_label: str = "Other",
) -> Path:
    """A PNG of a role-shares table: one panel per group; per period, each role's share as a
    line with its interval as a band (a single period: dots with interval bars).

    Other (usually most of a feed) is left out by default so the roles are readable; its share
    is given in the panel title. Periods with too few postings have hollow markers; ``undated``
    rows are not drawn (their count is in the caption).

    Args:
        table: what :func:`.role_shares` returned, or the DataFrame of
            :func:`.estimate_shares` (or a filtered part of it).
        path: the PNG to write.
        roles: the roles to draw, default all but Other.
        title: the figure title (default: what the figure shows).
        other_label: the label drawn grey and left out by default.

    Returns:
        The path written.

    Example:
        >>> plot_shares(role_shares("labelled.csv", date_column="posted"), "shares.png")  # doctest: +SKIP
    """
    require_extra("matplotlib", "shares --plot")
    table = Shares.of(table)
    plan = _Plan.of(table, roles, other_label)
    fig, axes = _figure(plan)
    for ax, (key, part) in zip(axes.flat, plan.shown):
        _draw_panel(ax, part, plan)
        _format_panel(ax, plan, key, part)
    for ax in axes.flat[len(plan.shown) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("share of postings" if plan.single else "period")
    for ax in axes[:, 0]:
        ax.set_ylabel("" if plan.single else "share of postings")
    _title_and_legend(fig, table, plan, title)
    _caption(fig, table, plan)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


@dataclass(frozen=True)
class _Plan:
    """What a :func:`plot_shares` figure shows: which roles, one panel per group (the first
    :data:`_MAX_PANELS`), which periods, and the top of the share axis."""

    labels: list[str]
    drawn: list[str]
    dated: list[Row]
    panels: list[tuple[tuple[Any, ...], list[Row]]]
    periods: list[str]
    top: float
    other_label: str

    @classmethod
    def of(cls, table: Shares, roles: Sequence[str] | None, other_label: str) -> _Plan:
        records = table.records()
        labels = list(table.attrs.get("labels") or dict.fromkeys(r["role"] for r in records))
        drawn = [r for r in (roles or [r for r in labels if r != other_label]) if r in labels]
        groups = [c for c in table.columns if c not in ("period", "role", "share", "low",
                                                         "high", "n", "method", "note",
                                                         "interval")]  # fmt: skip
        dated = [r for r in records if r["period"] != UNDATED]
        panels: dict[tuple[Any, ...], list[Row]] = {}
        for r in dated:
            panels.setdefault(tuple(r[g] for g in groups), []).append(r)
        periods = list(dict.fromkeys(r["period"] for r in dated))
        highs = [r["high"] for r in dated if r["role"] in drawn]
        top = float(max(highs)) if highs else 1.0
        return cls(labels, drawn, dated, list(panels.items()), periods, top, other_label)

    @property
    def shown(self) -> list[tuple[tuple[Any, ...], list[Row]]]:
        return self.panels[:_MAX_PANELS]

    @property
    def single(self) -> bool:
        """One period: dots with interval bars instead of lines over time."""
        return len(self.periods) == 1


def _figure(plan: _Plan) -> tuple[Any, Any]:
    """The figure and its grid of panels: long time axes stack the groups in one column; dot
    plots and short ones sit side by side."""
    from matplotlib.figure import Figure

    single, periods = plan.single, plan.periods
    cols = 1 if not single and len(periods) > 6 else max(1, min(len(plan.shown), 3))
    rows = max(1, -(-len(plan.shown) // cols))
    width = 4.2 if single else min(11.0, 0.4 * len(periods) + 4.0)
    fig = Figure(
        figsize=(width * cols + 2.0, (2.6 if single else 3.2) * rows + 0.8), layout="constrained"
    )
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True, sharex=not single)
    return fig, axes


def _format_panel(ax: Any, plan: _Plan, key: tuple[Any, ...], part: list[Row]) -> None:
    """A panel's share axis, grid and title (the group, its postings and Other's share)."""
    from matplotlib.ticker import PercentFormatter

    single, other_label = plan.single, plan.other_label
    share_axis = ax.xaxis if single else ax.yaxis
    share_axis.set_major_formatter(PercentFormatter(1.0, decimals=None))  # 0.5% steps: 0.5%
    (ax.set_xlim if single else ax.set_ylim)(0, min(1.0, max(plan.top, 0.01) * 1.12))
    ax.grid(axis="x" if single else "y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    name = ", ".join(str(k) for k in key)
    other = [r["share"] for r in part if r["role"] == other_label]
    sub = ""
    if other and other_label not in plan.drawn:
        lo, hi = min(other), max(other)
        sub = (
            f"{other_label}: {lo:.0%}" if single or lo == hi else f"{other_label} {lo:.0%}–{hi:.0%}"
        )
    n = sum({r["period"]: int(r["n"]) for r in part}.values())
    ax.set_title(" · ".join(s for s in (name, f"n = {n:,}", sub) if s), fontsize=10)


def _title_and_legend(fig: Any, table: Shares, plan: _Plan, title: str | None) -> None:
    """The figure title, and a legend of the roles (over time) and of hollow markers."""
    from matplotlib.lines import Line2D

    single, other_label, a = plan.single, plan.other_label, table.attrs
    method = str(table.records()[0]["method"]) if table.rows else ""
    confidence = a.get("confidence", 0.9)
    what = "Role shares" if single else f"Role shares per {a.get('period') or 'period'}"
    kind = a.get("interval", "sampling")
    fig.suptitle(title or f"{what} ({method}, {confidence:.0%} {kind} intervals)", fontsize=12)
    handles = [
        Line2D([], [], color=role_colour(r, plan.labels, other_label), marker="o", lw=2, label=r)
        for r in ([] if single else plan.drawn)  # one period: the roles are the y axis
    ]
    if any(r["note"] for r in plan.dated):
        handles.append(
            Line2D([], [], color="0.3", marker="o", mfc="white", lw=0, label="too few postings")
        )
    if handles:
        fig.legend(handles=handles, loc="outside right center", frameon=False)


def _caption(fig: Any, table: Shares, plan: _Plan) -> None:
    """What the figure leaves out: groups beyond the first panels, undated and error rows."""
    notes, a = [], table.attrs
    if len(plan.panels) > len(plan.shown):
        notes.append(f"first {len(plan.shown)} of {len(plan.panels)} groups shown")
    if any(r["period"] == UNDATED for r in table.records()):
        notes.append(f"{a.get('undated_rows', '?')} undated postings not drawn")
    if a.get("error_rows"):
        notes.append(f"{a['error_rows']} error rows not used")
    if notes:
        fig.supxlabel("; ".join(notes), fontsize=8, color="0.35", x=0.01, ha="left")


def _draw_panel(ax: Any, part: list[Row], plan: _Plan) -> None:
    """One group's roles: lines and bands over the periods, or dots and bars for one period."""
    drawn, periods, single = plan.drawn, plan.periods, plan.single
    position = {p: i for i, p in enumerate(periods)}
    for offset, role in enumerate(drawn):
        rows = [r for r in part if r["role"] == role]
        if not rows:
            continue
        colour = role_colour(role, plan.labels, plan.other_label)
        if single:
            y = len(drawn) - 1 - offset
            s, lo, hi = rows[0]["share"], rows[0]["low"], rows[0]["high"]
            ax.errorbar(
                [s], [y], xerr=[[s - lo], [hi - s]], fmt="o", color=colour, capsize=3,
                mfc="white" if rows[0]["note"] else colour,
            )  # fmt: skip
            continue
        _draw_line(ax, rows, [position[r["period"]] for r in rows], colour)
    if single:
        ax.set_yticks(range(len(drawn)), list(reversed(drawn)))
        ax.set_ylim(-0.6, len(drawn) - 0.4)
    else:
        step = max(1, len(periods) // 12)
        ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45, ha="right")
        ax.set_xlim(-0.3, len(periods) - 0.7)


def _draw_line(ax: Any, rows: list[Row], x: list[int], colour: str) -> None:
    """A role over the periods: its band, its line, and its markers (hollow when small)."""
    share = [r["share"] for r in rows]
    ax.fill_between(x, [r["low"] for r in rows], [r["high"] for r in rows], color=colour,
                    alpha=0.12, lw=0)  # fmt: skip
    ax.plot(x, share, color=colour, lw=2)
    for hollow in (False, True):
        pick = [i for i, r in enumerate(rows) if bool(r["note"]) == hollow]
        if pick:
            ax.scatter(
                [x[i] for i in pick], [share[i] for i in pick], s=18, zorder=3,
                **({"facecolor": "white", "edgecolor": colour} if hollow else {"color": colour}),
            )  # fmt: skip
