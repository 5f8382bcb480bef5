"""What ``--model`` accepts: a built-in name (any casing) or a folder saved by ``train``.

Kept apart from :mod:`.model` (and free of heavy imports) so the command line can
check a model's name before any work, and ``RoleClassifier.from_pretrained`` can share it.

Example:
    >>> resolve_model_name(" Zero-Shot ")
    'zero-shot'
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

__all__ = ["DEFAULT_MODEL_DIR", "MODEL_NAMES", "UnknownModelError", "resolve_model_name"]

DEFAULT_MODEL_DIR = Path(__file__).parent.parent / "default_model"
"""The folder of the built-in ``default`` model, shipped in the package (the one definition)."""

MODEL_NAMES = ("default", "zero-shot")
"""The built-in models: the shipped trained head, and the taxonomy alone (no training)."""


class UnknownModelError(UserError):
    """A model that is neither a built-in name nor a folder; the message lists what is valid."""


def resolve_model_name(model: str | Path) -> str:
    """The canonical form of a model argument: ``'default'``, ``'zero-shot'`` or a folder path.

    Built-in names match case-insensitively (``Zero-Shot``, ``DEFAULT``, ``zero_shot``). Anything
    else must be an existing folder; whether it holds a saved model is checked when it is loaded.

    Raises:
        UnknownModelError: neither a built-in name nor an existing folder.
    """
    text = str(model).strip()
    key = text.lower().replace("_", "-").replace(" ", "-")
    if key in MODEL_NAMES:
        return key
    if Path(text).is_dir():
        return text
    why = "a file, not a folder" if Path(text).exists() else "no such folder"
    raise UnknownModelError(
        f"unknown model '{model}' ({why}); use 'default' (the built-in trained model), "
        "'zero-shot' (the taxonomy alone) or a folder saved by `role-classifier train`"
    )
