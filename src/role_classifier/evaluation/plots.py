"""Figures of the evaluation report: imported only when writing one.

matplotlib comes with the ``report`` extra. Figures are built as ``matplotlib.figure.Figure``
objects and saved directly (Agg renders PNG): no pyplot state and no ``matplotlib.use()``, so
writing a report never switches the backend of the program that asked for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._extras import require_extra

require_extra("matplotlib", "evaluate --report-dir")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

__all__ = ["confusion_figure", "coverage_figure", "reliability_figure"]

DPI = 120


def confusion_figure(path: Path, confusion: dict[str, Any], title: str) -> None:
    """Confusion matrix normalised by row (colour, share) with the counts underneath."""
    labels = confusion["labels"]
    counts = np.asarray(confusion["matrix"], dtype=int)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    size = max(6.0, 0.85 * len(labels) + 3.0)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.subplots()
    display = ConfusionMatrixDisplay(shares, display_labels=labels)
    display.plot(
        ax=ax, cmap="Blues", colorbar=True, values_format=".2f", im_kw={"vmin": 0, "vmax": 1}
    )
    display.im_.colorbar.set_label("share of the true role's rows")
    for (i, j), text in np.ndenumerate(display.text_):
        if counts[i, j] == 0:
            text.set_text("" if totals[i, 0] else "·")
        else:
            text.set_text(f"{shares[i, j]:.2f}\n({counts[i, j]})")
        text.set_fontsize(8)
    ax.set_yticks(range(len(labels)), [f"{lab} ({totals[i, 0]})" for i, lab in enumerate(labels)])
    ax.set_xlabel("predicted role")
    ax.set_ylabel("true role (rows)")
    for tick in ax.get_xticklabels():
        tick.set(rotation=35, ha="right", rotation_mode="anchor")
    ax.set_title(f"Confusion matrix: {title}\nnormalised by row; counts in brackets", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def reliability_figure(path: Path, calibration: dict[str, Any], ece: float, title: str) -> None:
    """Reliability diagram (accuracy per confidence bin vs the diagonal) over a count histogram."""
    bins = calibration["bins"]
    lower = np.array([b["lower"] for b in bins])
    width = np.array([b["upper"] - b["lower"] for b in bins])
    counts = np.array([b["count"] for b in bins])
    filled = counts > 0
    acc = np.array([b["accuracy"] if b["count"] else 0.0 for b in bins])
    conf = np.array([b["confidence"] if b["count"] else 0.0 for b in bins])
    fig = Figure(figsize=(6.5, 7))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(
        lower[filled],
        acc[filled],
        width=width[filled],
        align="edge",
        color="#4c72b0",
        edgecolor="white",
        label="accuracy in bin",
    )
    top.hlines(
        conf[filled],
        lower[filled],
        lower[filled] + width[filled],
        colors="#c44e52",
        linewidth=2.5,
        label="mean confidence in bin",
    )
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    fig.suptitle(f"Reliability: {title} (ECE {ece:.3f})", fontsize=11)
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=3, fontsize=8, frameon=False)
    top.grid(alpha=0.3)
    bottom.bar(lower, counts, width=width, align="edge", color="gray", edgecolor="white")
    bottom.set_xlabel("probability of the decided label (confidence)")
    bottom.set_ylabel("rows")
    bottom.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=DPI)


def coverage_figure(path: Path, curves: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Precision of the roles named vs coverage, one line per model, the target marked."""
    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    target = curves[0][1]["target_precision"]
    widest = 0.0
    for k, (name, cov) in enumerate(curves):
        color = f"C{k}"
        pts = [p for p in cov["points"] if p["precision"] is not None]
        x = [p["coverage"] for p in pts]
        widest = max([widest, *x])
        ax.plot(x, [p["precision"] for p in pts], "-", color=color, label=f"{name}: precision")
        ax.plot(x, [p["accuracy"] for p in pts], ":", color=color, label=f"{name}: accuracy")
        if cov["threshold"] is not None:
            ax.plot(cov["coverage"], cov["precision"], "o", color=color, markersize=7)
            ax.annotate(
                f"t={cov['threshold']:.2f}",
                (cov["coverage"], cov["precision"]),
                textcoords="offset points",
                xytext=(8, -16 - 14 * k),
                fontsize=8,
                color=color,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": color},
            )
    ax.axhline(target, color="gray", linestyle="--", linewidth=1, label=f"target {target:.2f}")
    ax.set_xlim(0, min(1.0, widest * 1.08 + 0.01) if widest > 0 else 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of postings given a role; the rest are Other)")
    ax.set_ylabel("precision of roles named (solid), accuracy (dotted)")
    ax.set_title(
        "Abstaining to Other below a threshold on the best role's probability\n"
        "(right end: no threshold; moving left: higher thresholds)",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
