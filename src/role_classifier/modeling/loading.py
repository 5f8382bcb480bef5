"""How every command and the server get a model: by name, with an optional taxonomy file.

Example:
    >>> clf = load_classifier("zero-shot", taxonomy="configs/taxonomy.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from .._extras import EXTRAS, MissingExtraError, missing_extra_message
from ..errors import UserError
from ..taxonomy import Taxonomy, load_taxonomy
from .model import RoleClassifier
from .names import resolve_model_name

__all__ = ["load_classifier"]


def load_classifier(
    model: str | Path = "default",
    taxonomy: str | Path | Taxonomy | None = None,
    backend: str = "onnx",
) -> RoleClassifier:
    """The model named ``model`` ('default', 'zero-shot', a saved folder), ready to use.

    Args:
        model: what ``--model`` accepts (built-in names in any casing).
        taxonomy: a taxonomy YAML (or a loaded :class:`Taxonomy`) replacing the model's.
        backend: ``onnx`` or ``torch``.

    Raises:
        UserError: an unknown model, a folder that holds no model, a bad taxonomy, a taxonomy
            whose labels do not match a trained head, or a missing optional package (its message
            names the extra that installs it).
    """
    name = resolve_model_name(model)
    tax = load_taxonomy(taxonomy) if isinstance(taxonomy, (str, Path)) else taxonomy
    try:
        return RoleClassifier.from_pretrained(name, taxonomy=tax, backend=backend)
    except UserError:
        raise
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    except ModuleNotFoundError as exc:  # e.g. a model saved with a LoRA adapter, without peft
        if exc.name in EXTRAS:
            raise MissingExtraError(missing_extra_message(exc.name), name=exc.name) from exc
        raise
