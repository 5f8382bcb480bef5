"""Optional dependencies: which extra installs them, and one clear error when one is missing.

``peft`` (LoRA fine-tuning, and loading a model saved with a LoRA adapter) comes with the
``finetune`` extra, ``matplotlib`` (the PNG figures of ``evaluate --report-dir``) with
``report``; ``dev`` pulls both. Call :func:`require_extra` before the work that needs one, so a
missing package is a one-line error instead of a traceback half-way through.

Example:
    >>> require_extra("matplotlib")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util

from .errors import UserError

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]

EXTRAS: dict[str, tuple[str, str]] = {
    # module: (extra, what needs it)
    "peft": ("finetune", "LoRA fine-tuning and models saved with a LoRA adapter"),
    "matplotlib": ("report", "the figures of evaluate --report-dir"),
}


class MissingExtraError(UserError, ImportError):
    """An optional package is not installed; the message names the extra that installs it."""

    def __init__(self, message: str, *, name: str | None = None) -> None:
        ImportError.__init__(self, message, name=name)


def missing_extra_message(module: str) -> str:
    """The one-line explanation for a missing optional ``module``."""
    extra, purpose = EXTRAS[module]
    return f"{module} is not installed ({purpose} need it): pip install 'role-classifier[{extra}]'"


def require_extra(module: str) -> None:
    """Raise :class:`MissingExtraError` unless optional ``module`` can be imported.

    Raises:
        MissingExtraError: the module is not installed; the message names its extra.
    """
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(missing_extra_message(module), name=module)
