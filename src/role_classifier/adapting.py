"""``adapt``: a model for one feed, from a base model and a corrections file, saved with its card.

The recipe is :mod:`role_classifier.modeling.adapt` (:meth:`RoleClassifier.adapt`); this module
reads the corrections (:mod:`.corrections`), checks the output folder, saves the model and writes
a model card that names the base, the corrections per role and the file they came from.

Example:
    >>> summary = adapt_file("queue.csv", "models/my-feed", model="default")  # doctest: +SKIP
    >>> summary["corrections"], summary["disagreeing"]  # doctest: +SKIP
    (50, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .corrections import read_corrections
from .errors import UserError
from .modeling.model_card import model_card

if TYPE_CHECKING:
    from .modeling.model import RoleClassifier

__all__ = ["adapt_file", "adapted_model_card"]


def check_output_folder(output: str | Path, overwrite: bool) -> None:
    """Refuse a file, or a folder with something in it unless ``overwrite``."""
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; --output is the folder to save the model in")
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise UserError(f"{path} exists and is not empty; pass --overwrite to replace it")


def adapt_file(
    corrections: str | Path,
    output: str | Path,
    model: str | Path = "default",
    *,
    text_column: str = "description",
    title_column: str | None = None,
    label_column: str | None = None,
    overwrite: bool = False,
    command: str = "",
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Adapt ``model`` to the corrections in a file and save the new model in ``output``.

    Everything is checked (output folder, model, file, columns, roles) before the encoding pass.

    Args:
        options: :class:`~role_classifier.modeling.adapt.AdaptOptions` fields.

    Returns:
        What was done: corrections used, per role, replaced and disagreeing duplicates,
        unanswered rows, the seconds taken and the model's cross-validated figures.

    Raises:
        UserError: a bad folder, model or file (one line each).
    """
    from .modeling.adapt import check_roles
    from .modeling.loading import load_classifier

    check_output_folder(output, overwrite)
    base = load_classifier(model)
    if base.source is None and str(model) != "zero-shot":
        raise UserError(f"{model}: not a saved role-classifier model")
    found = read_corrections(corrections, text_column, title_column, label_column)
    labels = check_roles(base, found.labels)
    adapted = base.adapt(
        found.postings, labels, source=str(corrections), progress=progress, **options
    )
    if str(model) in ("default", "zero-shot"):  # the built-in name, not the package's folder
        adapted.metadata["adapted"]["base"] = str(model)
    adapted.save_pretrained(output, model_card=adapted_model_card(adapted, command))
    meta = adapted.metadata["adapted"]
    return {
        "output": str(output),
        "base": meta["base"],
        "corrections": len(labels),
        "per_label": adapted.metadata["corrections"]["per_label"],
        "replaced": found.replaced,
        "disagreeing": found.disagreeing,
        "withdrawn": found.withdrawn,
        "unanswered": found.unanswered,
        "seconds": meta["seconds"],
        "held_out_metrics": meta["held_out_metrics"],
    }


def adapted_model_card(clf: RoleClassifier, command: str = "") -> str:
    """The base's model card with a section on what it was adapted to.

    Example:
        >>> print(adapted_model_card(mine))  # doctest: +SKIP
    """
    meta = clf.metadata
    adapted, corrections = meta.get("adapted", {}), meta.get("corrections", {})
    lines = [
        "",
        "## Adapted to a feed",
        "",
        f"This model is `{adapted.get('base', '?')}` with its head refitted on "
        f"{corrections.get('total', '?')} corrections from `{corrections.get('source', '?')}` "
        f"on {adapted.get('at', '?')} (`role-classifier adapt`: {_how(adapted)}; the "
        "temperatures and the review band were refitted on the corrections' out-of-fold scores, "
        "the band judged by its precision's Wilson lower bound "
        f"{adapted.get('options', {}).get('review_z', '?')} standard errors down).",
        "",
        "| role | corrections |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v} |" for k, v in corrections.get("per_label", {}).items()]
    if corrections.get("earlier_per_label"):
        earlier = ", ".join(f"{k}: {v}" for k, v in corrections["earlier_per_label"].items())
        lines += ["", f"Earlier adaptations of the base used: {earlier}."]
    figures = adapted.get("held_out_metrics")
    if figures:
        review = figures["review"]
        auto = (
            f"`auto` answers {review['coverage']:.1%} of them at precision {review['precision']}"
            if review["precision"] is not None
            else "none of them is `auto`"
        )
        lines += [
            "",
            f"Out of fold on the corrections (n={figures['n']} rows, with and without titles): "
            f"accuracy {figures['accuracy']:.3f}; {auto}. When the corrections are the postings "
            "the base was least sure of (the review queue), these figures are lower than on the "
            "whole feed.",
        ]
    return model_card(clf, command) + "\n".join(lines) + "\n"


def _how(adapted: dict[str, Any]) -> str:
    """How the head was refitted, for the model card."""
    weight = adapted.get("options", {}).get("weight", "?")
    share = adapted.get("options", {}).get("share", 0)
    weighed = (
        f"the corrections together weighted {share} of the base's training rows"
        if share
        else f"each correction weighted {weight}"
    )
    if adapted.get("method") == "refit":
        return f"refitted on the base's own training features plus the corrections, {weighed}"
    return f"the head is kept near the base's, {weighed}"
