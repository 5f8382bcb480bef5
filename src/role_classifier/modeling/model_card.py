"""The model card: the README.md written next to a saved model's weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the annotation: importing the model card loads no model code
    from .model import RoleClassifier

__all__ = ["model_card"]


def model_card(
    clf: RoleClassifier, command: str = "", evaluations: dict[str, Any] | None = None
) -> str:
    """Markdown describing how a model was trained and how well it does.

    Args:
        clf: a trained classifier (its ``metadata`` holds the training summary).
        command: the command line that produced it.
        evaluations: ``{name: evaluate() result}`` to tabulate.

    Example:
        >>> print(model_card(clf, "role-classifier train ..."))  # doctest: +SKIP
    """
    meta = clf.metadata
    lines = _summary(clf)
    if command:
        lines += ["", "Reproduce with:", "", "```", command, "```"]
    rows = meta.get("training_rows", {})
    if rows:
        lines += _training_data(rows)
    held_out = meta.get("held_out_metrics")
    if held_out:
        lines += _held_out_evaluation(held_out)
    for name, result in (evaluations or {}).items():
        lines += [
            "",
            f"### {name}",
            "",
            f"n={result['n']}: accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f} "
            f"(over {', '.join(result.get('macro_f1_labels', []))}), ECE {result['ece']:.3f}",
        ]
    lines.append("")
    return "\n".join(lines)


def _summary(clf: RoleClassifier) -> list[str]:
    """The title, what the model is and its settings."""
    meta = clf.metadata
    return [
        "# role-classifier model",
        "",
        f"A linear, temperature-calibrated head over {_backbone_description(clf)} "
        "(title embedding, mean of description-window embeddings, and the zero-shot scores of "
        "each role against `taxonomy`). Load it with "
        "`RoleClassifier.from_pretrained(path)` or `role-classifier classify --model path`.",
        "",
        "The model reads English job postings: text in another language is classified, with a "
        "warning, and the figures below do not apply to it.",
        "",
        f"- labels: {', '.join(clf.labels)}",
        f"- backbone: {clf.config.backbone}"
        + (" + LoRA adapter" if clf.config.adapter else "")
        + f"; windows of {clf.config.window_tokens} word-pieces, "
        f"at most {clf.config.max_windows} per ad",
        "- reads: "
        + (
            "the description's duty and requirement sentences, found by the sentence-section "
            "reader saved in `sections/` (the whole text when it finds none)"
            if clf.config.read == "duties"
            else "the whole description"
        ),
        f"- head fitted on the {_backend_words(meta)} features; any backend runs it "
        "(`--backend onnx|torch`)",
        f"- calibration temperature: {clf.config.temperature:.3f} with a title, "
        f"{clf.config.temperature_description_only or clf.config.temperature:.3f} without; "
        f"Other threshold: {clf.config.other_threshold:.2f}",
        f"- trained: {meta.get('trained_at', '?')} in {meta.get('seconds', '?')} s",
    ]


def _backbone_description(clf: RoleClassifier) -> str:
    """What the head sits on: the frozen bundled backbone, an adapter or another backbone."""
    if clf.config.adapter:
        return "all-MiniLM-L6-v2 fine-tuned with a LoRA adapter in `adapter/`"
    if clf.config.backbone != "bundled":
        return "the fine-tuned or custom backbone in `backbone/`"
    return "a frozen all-MiniLM-L6-v2"


def _training_data(rows: dict[str, Any]) -> list[str]:
    """Rows per label and per source file."""
    lines = ["", "## Training data", "", f"{rows.get('total', '?')} postings.", ""]
    lines += ["| label | rows |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(rows.get("per_label", {}).items())]
    lines += ["", "| source file | rows |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in rows.get("per_source", {}).items()]
    return lines


def _held_out_evaluation(held_out: dict[str, Any]) -> list[str]:
    """The held-out (cross-validated or dev) accuracy and macro-F1, per input view."""
    where = {
        "cross-val": "Out-of-fold scores of every training posting (cross-validation)",
        "dev": "The held-out dev split",
    }.get(held_out.get("kind", ""), "Held-out rows")
    lines = ["", "## Evaluation", "", f"{where}, before the final refit on all rows:", ""]
    lines += ["| input | n | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
    for view, label in (
        ("with_title", "title + description"),
        ("description_only", "description only"),
    ):
        if view in held_out:
            m = held_out[view]
            lines.append(f"| {label} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} |")
    return lines


def _backend_words(meta: dict[str, Any]) -> str:
    backend = (meta.get("train_config") or {}).get("backend", "torch")
    return "int8 ONNX" if backend == "onnx" else "fp32 torch"
