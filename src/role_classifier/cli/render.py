"""How answers are shown: predictions, evaluations, labelling summaries, the progress bar."""

from __future__ import annotations

from contextlib import AbstractContextManager

from rich.console import Console

from ..progress import ProgressCallback, progress_bar
from .common import err


def print_prediction(pred, title: str | None, title_given: bool = False) -> None:  # noqa: ANN001
    from rich.table import Table

    console = Console()
    if title_given:
        console.print(f"[dim]title (given by --title):[/] {title}", highlight=False)
    elif title:
        console.print(f"[dim]title (guessed from the first line):[/] {title}", highlight=False)
    else:
        console.print(
            "[dim]title: none (the first line did not look like one; --title sets it)[/]",
            highlight=False,
        )
    console.print(
        f"[bold]{pred.label}[/]  confidence {pred.confidence:.2f}  "
        + ("[green]auto[/]" if pred.review == "auto" else "[yellow]review: check this one[/]")
        + ("  [yellow](long ad: windows were sampled)[/]" if pred.truncated else ""),
        highlight=False,
    )
    if pred.runner_ups:
        table = Table("runner-up", "probability", box=None, pad_edge=False)
        for label, score in pred.runner_ups:
            table.add_row(label, f"{score:.2f}")
        console.print(table)
    if pred.evidence:
        console.print("[dim]evidence:[/]")
        for sentence in pred.evidence:
            console.print(f"  • {sentence}", highlight=False)


def print_evaluation(results: list[dict]) -> None:
    """Print ``evaluate``'s tables: the models side by side, F1 per role, bands and groups."""
    console = Console()
    if not console.is_terminal:  # piped or captured: don't squeeze the table into 80 columns
        console = Console(width=max(console.width, 140))
    first = results[0]
    rows = first["rows"]
    console.print(
        f"[dim]{rows['evaluated']} rows evaluated ({rows['total']} in the file, "
        f"{rows['filtered_out']} filtered out, {rows['unknown_label']} unknown labels, "
        f"{rows['errors']} errors)[/]",
        highlight=False,
    )
    if first["unknown_labels"]:
        shown = ", ".join(f"{k} ({v})" for k, v in sorted(first["unknown_labels"].items()))
        console.print(f"[yellow]labels not in the taxonomy (excluded):[/] {shown}", highlight=False)
    console.print(_models_table(results))
    console.print(_roles_table(results))
    if any(m.get("review") for m in results):
        console.print(_bands_table(results))
    if "groups" in first:
        console.print(_groups_table(results))
    if first["excluded_labels"]:
        why = "no rows" if first["min_support"] <= 1 else f"fewer than {first['min_support']} rows"
        console.print(
            f"[dim]excluded from macro-F1 ({why}): {', '.join(first['excluded_labels'])}[/]",
            highlight=False,
        )


def _table(title: str, first_column: str, results: list[dict], extra: tuple[str, ...] = ()):  # noqa: ANN202
    """A rich Table: a first column, right-aligned ``extra`` columns, then one per model."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(first_column)
    for name in extra:
        table.add_column(name, justify="right")
    for m in results:
        table.add_column(m["model"], justify="right")
    return table


def _models_table(results: list[dict]):  # noqa: ANN202 - a rich Table
    """One row per model: n, accuracy, F1s, ECE, top-2 and the abstain threshold's coverage."""
    from rich.table import Table

    target = results[0]["coverage"]["target_precision"]
    table = Table(title="Evaluation", title_justify="left")
    table.add_column("model")
    for name in ("n", "accuracy", "macro-F1", "weighted-F1", "ECE", "top-2"):
        table.add_column(name, justify="right")
    table.add_column(f"threshold for P≥{target:.2f}", justify="right")
    table.add_column("coverage", justify="right")
    for m in results:
        cov = m["coverage"]
        reached = cov["threshold"] is not None
        reach = [f"{cov['threshold']:.3f}", f"{cov['coverage']:.3f}"] if reached else ["–", "–"]
        table.add_row(
            m["model"],
            str(m["n"]),
            *(f"{m[k]:.3f}" for k in ("accuracy", "macro_f1", "weighted_f1", "ece")),
            f"{m['top2_accuracy']:.3f}",
            *reach,
        )
    return table


def _roles_table(results: list[dict]):  # noqa: ANN202 - a rich Table
    """F1 per role, one column per model."""
    table = _table("F1 per role", "role", results, ("support",))
    for label, v in results[0]["per_label"].items():
        table.add_row(
            label, str(v["support"]), *(f"{m['per_label'][label]['f1']:.3f}" for m in results)
        )
    return table


def _bands_table(results: list[dict]):  # noqa: ANN202 - a rich Table
    """Share of rows and accuracy in the ``auto`` and ``review`` bands, per model."""
    table = _table("Review band: share of rows / accuracy", "band", results)
    for band in ("auto", "review"):
        cells = []
        for m in results:
            b = m["review"][band] if m.get("review") else None
            acc = "–" if b is None or b["accuracy"] is None else f"{b['accuracy']:.3f}"
            cells.append("–" if b is None else f"{b['share']:.3f} / {acc}")
        table.add_row(band, *cells)
    return table


def _groups_table(results: list[dict]):  # noqa: ANN202 - a rich Table
    """Macro-F1 / accuracy / ECE per value of ``--group-column``, per model."""
    first = results[0]
    title = f"By {first['data']['group_column']}: macro-F1 / accuracy / ECE"
    table = _table(title, "group", results, ("n",))
    for name, g in first["groups"].items():
        cells = (
            "{macro_f1:.3f} / {accuracy:.3f} / {ece:.3f}".format(**m["groups"][name])
            for m in results
        )
        table.add_row(name, str(g["n"]), *cells)
    return table


def rows_progress(enabled: bool) -> AbstractContextManager[ProgressCallback | None]:
    """The labelling bar (rows, rows/s, ETA) on the error console, as a ``progress(done, total)``
    callback (:func:`role_classifier.progress.progress_bar` draws it)."""
    return progress_bar(enabled, "labelling", console=err)


def print_label_summary(s) -> None:  # noqa: ANN001 - batch.LabelSummary
    resumed = f" ({s.resumed_from:,} by the interrupted run)" if s.resumed_from else ""
    err.print(
        f"[bold]labelled {s.rows:,} rows[/]{resumed} in {s.seconds:.1f} s "
        f"({s.rows_per_second:,.1f} rows/s): {s.errors:,} errors, {s.warnings:,} warnings",
        highlight=False,
    )
    if s.label_counts:
        counts = ", ".join(f"{k} {v:,}" for k, v in s.label_counts.items())
        err.print(f"  {counts}", highlight=False)
        classified = sum(s.label_counts.values())
        err.print(
            f"  review band: {classified - s.to_review:,} auto, {s.to_review:,} to review "
            "(column review)",
            highlight=False,
        )
    check = "ok" if s.rows - s.filtered_out == s.rows_written else "MISMATCH"
    filtered = f", filtered out {s.filtered_out:,}" if s.filtered_out else ""
    err.print(
        f"  rows in {s.rows:,}{filtered}, rows out {s.rows_written:,} ({check}) -> {s.output}",
        highlight=False,
    )
    for note in s.notes:
        err.print(f"  [yellow]note:[/] {note}", highlight=False)


def print_shares(table, quiet: bool = False) -> None:  # noqa: ANN001 - role_shares' Shares
    """One table row per group and period: n, then each role's share and interval; the rows
    read and used on stderr, unless ``quiet``."""
    from rich.table import Table

    from ..shares import Shares

    shares = Shares.of(table)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    a = shares.attrs
    keys = [*shares.groups, "period"]
    table = Table(
        title=f"Role shares ({a.get('method')}, {a.get('confidence', 0.9):.0%} "
        f"{a.get('interval', 'sampling')} intervals)",
        title_justify="left",
    )
    for k in keys:
        table.add_column(k)
    table.add_column("n", justify="right")
    records = shares.records()
    roles = list(dict.fromkeys(r["role"] for r in records))
    for role in roles:
        table.add_column(role, justify="right")
    table.add_column("note")
    cells: dict[tuple, list[dict]] = {}
    for r in records:
        cells.setdefault(tuple(r[k] for k in keys), []).append(r)
    for key, part in cells.items():
        shown = {r["role"]: f"{r['share']:.1%} ({r['low']:.1%}–{r['high']:.1%})" for r in part}
        table.add_row(
            *map(str, key),
            str(part[0]["n"]),
            *(shown.get(r, "") for r in roles),
            str(part[0]["note"] or ""),
        )
    console.print(table)
    if quiet:
        return
    err.print(
        f"{a.get('rows', 0):,} rows read: {a.get('used_rows', 0):,} used, "
        f"{a.get('error_rows', 0):,} error rows not used, {a.get('undated_rows', 0):,} undated"
        + _undated_examples(a.get("undated_examples") or []),
        highlight=False,
    )
    for warning in a.get("warnings") or []:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _undated_examples(values: list[str]) -> str:
    """`` (not dates: 'Q5 2024', 'soon')``: a few values that could not be dated."""
    if not values:
        return ""
    return " (could not be dated: " + ", ".join(repr(v) for v in values) + ")"
