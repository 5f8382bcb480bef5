"""What to tell the user after an evaluation, as data: the command line only prints it.

:func:`advice` splits each model's warnings into those every model shares (they are about the
data) and each model's own, and gives, for every model whose coverage threshold is worth using,
the ``label-csv`` command that labels new postings at the target precision.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from .schema import BASELINE_NAME

__all__ = ["Advice", "advice", "label_csv_command", "label_hints", "split_warnings"]


class Advice(TypedDict):
    """:func:`advice`'s answer."""

    warnings: list[tuple[str | None, str]]
    """``(None, text)`` for a warning every model has, ``(model, text)`` for one model's."""
    hints: list[str]
    """One sentence per model with a ``label-csv`` command worth running."""


def advice(
    result: dict[str, Any], taxonomy_path: str | Path | None = None, backend: str = "onnx"
) -> Advice:
    """The warnings, split by whom they are about, and the ``label-csv`` hints of a result.

    Args:
        result: what :func:`~role_classifier.evaluation.evaluate` returned.
        taxonomy_path: the taxonomy file the models were evaluated with, if not the shipped
            one; the hints pass it on as ``--taxonomy``.
        backend: the encoder backend used; the hints name it when it is not ``onnx``, the
            default (both give the same scores).

    Example:
        >>> m = {"model": "default", "warnings": ["data.csv: delimiter ';'"],
        ...      "coverage": {"threshold": 0.62, "target_precision": 0.9, "coverage": 0.8},
        ...      "data": {"text_column": "description", "title_column": None}}
        >>> a = advice({"schema_version": 2, "models": [m]})
        >>> a["warnings"]
        [(None, "data.csv: delimiter ';'")]
        >>> a["hints"][0].split(": ")[0]
        'to label new postings with default at precision 0.9 (coverage 0.800 here)'
    """
    results = result["models"]
    return {
        "warnings": split_warnings(results),
        "hints": label_hints(results, taxonomy_path=taxonomy_path, backend=backend),
    }


def split_warnings(results: Sequence[dict[str, Any]]) -> list[tuple[str | None, str]]:
    """Warnings every model has, as ``(None, text)`` in the first model's order, then each
    model's own as ``(model, text)``, in model order.

    With one model all its warnings count as shared: they are all said once, unattributed.

    Example:
        >>> split_warnings([{"model": "a", "warnings": ["ragged rows", "slow"]},
        ...                 {"model": "b", "warnings": ["ragged rows"]}])
        [(None, 'ragged rows'), ('a', 'slow')]
    """
    if not results:
        return []
    shared = set.intersection(*(set(m["warnings"]) for m in results))
    out: list[tuple[str | None, str]] = [(None, w) for w in results[0]["warnings"] if w in shared]
    out += [(m["model"], w) for m in results for w in m["warnings"] if w not in shared]
    return out


def label_hints(
    results: Sequence[dict[str, Any]],
    taxonomy_path: str | Path | None = None,
    backend: str = "onnx",
) -> list[str]:
    """For each model with a :func:`label_csv_command`, a sentence that gives it with the
    precision it reaches and the coverage it had on these rows.

    Example:
        >>> m = {"model": "m", "coverage": {"threshold": 0.5, "target_precision": 0.95,
        ...      "coverage": 0.5}, "data": {"text_column": "text", "title_column": None}}
        >>> label_hints([m], backend="torch")[0].split(": ", 1)[1]
        'role-classifier label-csv JOBS.csv LABELLED.csv --text-column text --model m \
--min-confidence 0.5 --backend torch'
    """
    extra: tuple[str, ...] = ("--taxonomy", str(taxonomy_path)) if taxonomy_path is not None else ()
    extra += ("--backend", backend) if backend != "onnx" else ()  # onnx: the default
    hints = []
    for m in results:
        command = label_csv_command(m, *extra)
        if command:
            cov = m["coverage"]
            hints.append(
                f"to label new postings with {m['model']} at precision "
                f"{cov['target_precision']:g} (coverage {cov['coverage']:.3f} here): {command}"
            )
    return hints


def label_csv_command(metrics: dict[str, Any], *extra: str) -> str | None:
    """The ``label-csv`` command that labels new postings with this model and abstains to Other
    at the coverage threshold found for ``--target-precision``; None when there is no such
    threshold (not reached, 0: no abstaining needed, or the TF-IDF baseline, which
    ``label-csv`` cannot run).

    Args:
        metrics: one model's object of the JSON schema.
        extra: more arguments to append (e.g. ``--taxonomy``, ``my.yaml``).

    Example:
        >>> m = {"model": "default", "coverage": {"threshold": 0.62}, "data": {
        ...     "text_column": "description", "title_column": None}}
        >>> label_csv_command(m)
        'role-classifier label-csv JOBS.csv LABELLED.csv --text-column description --model \
default --min-confidence 0.62'
    """
    threshold = metrics["coverage"]["threshold"]
    if not threshold or metrics["model"] == BASELINE_NAME:
        return None
    d = metrics["data"]
    args = ["JOBS.csv", "LABELLED.csv", "--text-column", d["text_column"]]
    if d["title_column"]:
        args += ["--title-column", d["title_column"]]
    args += ["--model", metrics["model"], "--min-confidence", f"{threshold}", *extra]
    return "role-classifier label-csv " + shlex.join(args)
