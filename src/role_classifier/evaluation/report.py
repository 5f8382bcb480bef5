"""The written report: ``report.md``, ``misclassified.csv`` and the figures (:mod:`.plots`).

``misclassified.csv`` has every column of the input, so its ids come along, then ``row``,
``line``, ``true``, ``predicted``, ``confidence``, ``true_probability`` (prefixed ``eval_`` if
the input has such a column), most confident mistakes first. The figures need matplotlib (the
``report`` extra); it is imported only when a report is written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import LabelledRows
from .advice import label_csv_command
from .schema import ModelRun

__all__ = ["write_report"]


def write_report(report_dir: str | Path, runs: Sequence[ModelRun], rows: LabelledRows) -> Path:
    """Write figures, ``misclassified.csv`` and ``report.md``; returns the report.md path.

    One model writes into ``report_dir``; several write one subfolder per model plus a
    top-level ``report.md`` comparing them (with a combined coverage figure).

    Example:
        >>> write_report("reports/eval", runs, rows)  # doctest: +SKIP
        PosixPath('reports/eval/report.md')
    """
    root = Path(report_dir)
    root.mkdir(parents=True, exist_ok=True)
    if len(runs) == 1:
        _write_model_report(root, runs[0], rows)
        return root / "report.md"
    folders = _folder_names([r.name for r in runs])
    for run, folder in zip(runs, folders, strict=True):
        _write_model_report(root / folder, run, rows)
    from . import plots

    plots.coverage_figure(root / "coverage.png", [(r.name, r.metrics["coverage"]) for r in runs])
    path = root / "report.md"
    path.write_text("\n".join(_comparison_lines(runs, folders)) + "\n", encoding="utf-8")
    return path


def _comparison_lines(runs: Sequence[ModelRun], folders: Sequence[str]) -> list[str]:
    """The top-level ``report.md`` of several models."""
    results = [r.metrics for r in runs]
    lines = [
        "# Evaluation: model comparison",
        "",
        *_data_lines(results[0]),
        "",
        "## Metrics",
        "",
        *_metrics_table(results),
        "",
        *_group_lines(results),
        "## F1 per role",
        "",
        *_per_label_comparison(results),
        "",
        "## Coverage when abstaining to Other",
        "",
        "![coverage](coverage.png)",
        "",
        "## Models",
        "",
    ]
    for run, folder in zip(runs, folders, strict=True):
        lines += [
            f"### {run.name}",
            "",
            f"Full report: [{folder}/report.md]({folder}/report.md)",
            "",
            f"![confusion matrix of {run.name}]({folder}/confusion_matrix.png)",
            "",
        ]
    return lines


# -- one model ---------------------------------------------------------------------------------
def _write_model_report(folder: Path, run: ModelRun, rows: LabelledRows) -> None:
    from . import plots

    folder.mkdir(parents=True, exist_ok=True)
    m = run.metrics
    plots.confusion_figure(folder / "confusion_matrix.png", m["confusion"], run.name)
    plots.reliability_figure(folder / "reliability.png", m["calibration"], m["ece"], run.name)
    plots.coverage_figure(folder / "coverage.png", [(run.name, m["coverage"])])
    _write_misclassified(folder / "misclassified.csv", run, rows)
    n_wrong = int((run.predicted != _label_idx(m, rows)).sum())
    lines = [
        f"# Evaluation: {run.name}",
        "",
        *_data_lines(m),
        "",
        "## Metrics",
        "",
        *_metrics_table([m]),
        "",
        *_group_lines([m]),
        *_per_role_lines(m),
        *_figure_lines(m),
        "## Misclassified rows",
        "",
        f"[misclassified.csv](misclassified.csv): {n_wrong} rows, most confident mistakes first.",
        "",
        *(f"> warning: {warning}" for warning in m["warnings"]),
    ]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _per_role_lines(m: dict[str, Any]) -> list[str]:
    """The '## Per role' table and which roles macro-F1 averages."""
    excluded = (
        f"Excluded (fewer than {m['min_support']} rows): {', '.join(m['excluded_labels'])}."
        if m["excluded_labels"]
        else "No role was excluded."
    )
    return [
        "## Per role",
        "",
        "| role | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
            for lab, v in m["per_label"].items()
        ],
        "",
        f"Macro-F1 averages {len(m['macro_f1_labels'])} roles. " + excluded,
        "",
    ]


def _figure_lines(m: dict[str, Any]) -> list[str]:
    """The confusion matrix, calibration and coverage sections with their figures."""
    return [
        "## Confusion matrix",
        "",
        "Rows are true roles, columns predicted; colour and the upper number are the share of the"
        " row, the lower number the count.",
        "",
        "![confusion matrix](confusion_matrix.png)",
        "",
        "## Calibration",
        "",
        f"Expected calibration error: {m['ece']:.3f} ({m['calibration']['n_bins']} bins, by the"
        " probability of the decided label).",
        "",
        "![reliability diagram](reliability.png)",
        "",
        "## Coverage when abstaining to Other",
        "",
        _coverage_sentence(m),
        "",
        "![coverage](coverage.png)",
        "",
    ]


def _label_idx(metrics: dict[str, Any], rows: LabelledRows) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(metrics["confusion"]["labels"])}
    return np.array([index[v] for v in rows.labels])


def _write_misclassified(path: Path, run: ModelRun, rows: LabelledRows) -> None:
    labels = run.metrics["confusion"]["labels"]
    y = _label_idx(run.metrics, rows)
    wrong = np.flatnonzero(run.predicted != y)
    confidence = run.proba[np.arange(len(y)), run.predicted]
    order = wrong[np.argsort(-confidence[wrong], kind="stable")]
    added = ["row", "line", "true", "predicted", "confidence", "true_probability"]
    clash = set(added) & set(rows.header)
    prefix = "eval_" if clash else ""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows.header, *(prefix + a for a in added)])
        for i in order:
            writer.writerow(
                [
                    *rows.cells[i],
                    rows.row_numbers[i],
                    rows.lines[i],
                    labels[y[i]],
                    labels[run.predicted[i]],
                    f"{confidence[i]:.4f}",
                    f"{run.proba[i, y[i]]:.4f}",
                ]
            )


# -- sections shared by both reports -----------------------------------------------------------
def _data_lines(m: dict[str, Any]) -> list[str]:
    d, r = m["data"], m["rows"]
    filters = ", ".join(f"{k}={'|'.join(v)}" for k, v in d["filters"].items()) or "none"
    columns = f"label `{d['label_column']}`, text `{d['text_column']}`"
    if d["title_column"]:
        columns += f", title `{d['title_column']}`"
    out = [
        f"- data: `{d['path']}` ({columns}; filters: {filters})",
        f"- rows: {r['total']} in the file, {r['filtered_out']} filtered out, "
        f"{r['unknown_label']} with unknown labels, {r['errors']} with errors, "
        f"**{r['evaluated']} evaluated**",
    ]
    if m["unknown_labels"]:
        shown = ", ".join(f"{k} ({v})" for k, v in sorted(m["unknown_labels"].items()))
        out.append(f"- labels not in the taxonomy (excluded): {shown}")
    if m["errors"]:
        shown = ", ".join(f"{e['row']} ({e['error']})" for e in m["errors"][:20])
        more = f" and {len(m['errors']) - 20} more" if len(m["errors"]) > 20 else ""
        out.append(f"- excluded rows: {shown}{more}")
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _coverage_sentence(m: dict[str, Any]) -> str:
    cov = m["coverage"]
    target = cov["target_precision"]
    if cov["threshold"] is None:
        return f"No threshold reaches precision {target:.2f} on the roles it names."
    sentence = (
        f"Labelling Other every posting whose best role is below **{cov['threshold']:.3f}** "
        f"reaches precision {_fmt(cov['precision'])} (target {target:.2f}) on the "
        f"{_fmt(cov['coverage'])} of postings still given a role; overall accuracy "
        f"{_fmt(cov['accuracy'])}."
    )
    command = label_csv_command(m)
    if command:
        sentence += f" To label new postings this way:\n\n```bash\n{command}\n```"
    return sentence


def _metrics_table(results: Sequence[dict[str, Any]]) -> list[str]:
    out = [
        "| model | n | accuracy | macro-F1 | weighted-F1 | ECE | top-2 | threshold @ precision |"
        " coverage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        cov = m["coverage"]
        out.append(
            f"| {m['model']} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
            f"{m['weighted_f1']:.3f} | {m['ece']:.3f} | {m['top2_accuracy']:.3f} | "
            f"{_fmt(cov['threshold'])} @ {cov['target_precision']:.2f} | {_fmt(cov['coverage'])} |"
        )
    return out


def _group_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """A '## By <group column>' section: macro-F1 / accuracy / ECE per group and model."""
    if "groups" not in results[0]:
        return []
    names = [m["model"] for m in results]
    out = [
        f"## By {results[0]['data']['group_column']}",
        "",
        "Each cell: macro-F1 / accuracy / ECE on that group's rows (macro-F1 over the roles with"
        f" at least {results[0]['min_support']} rows there).",
        "",
        "| group | n | " + " | ".join(names) + " |",
        "|---|---:|" + "---|" * len(names),
    ]
    for group, g in results[0]["groups"].items():
        cells = (
            "{macro_f1:.3f} / {accuracy:.3f} / {ece:.3f}".format(**m["groups"][group])
            for m in results
        )
        out.append(f"| {group} | {g['n']} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _per_label_comparison(results: Sequence[dict[str, Any]]) -> list[str]:
    names = [m["model"] for m in results]
    out = [
        "| role | support | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for lab, v in results[0]["per_label"].items():
        f1s = " | ".join(f"{m['per_label'][lab]['f1']:.3f}" for m in results)
        out.append(f"| {lab} | {v['support']} | {f1s} |")
    excluded = results[0]["excluded_labels"]
    if excluded:
        out += ["", f"Excluded from macro-F1 (too few rows): {', '.join(excluded)}."]
    return out


def _folder_names(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        base = Path(name.rstrip("/\\")).name or "model"
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "model"
        candidate, k = slug, 2
        while candidate in out:
            candidate, k = f"{slug}_{k}", k + 1
        out.append(candidate)
    return out
