"""role-classifier: which AI/ML role is a job posting hiring for?

Importing the package is cheap and changes nothing global: the public names below are imported
on first use (a module ``__getattr__``), so ``import role_classifier`` loads neither torch nor
transformers, and ``role-classifier --help`` starts in a fraction of a second.

Example:
    >>> from role_classifier import RoleClassifier
    >>> clf = RoleClassifier.from_pretrained("default")  # doctest: +SKIP
    >>> clf.predict("You will own our KServe model serving and MLflow registry.")  # doctest: +SKIP
    'MLOps Engineer'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .labelling.frame import label_dataframe
    from .modeling.model import ModelConfig, Prediction, RoleClassifier
    from .taxonomy import Role, Taxonomy, load_taxonomy
    from .text import Posting, posting_text

__all__ = [
    "ModelConfig",
    "Posting",
    "Prediction",
    "Role",
    "RoleClassifier",
    "Taxonomy",
    "label_dataframe",
    "load_taxonomy",
    "posting_text",
]
__version__ = "0.1.0"

# public name -> the submodule that defines it
_LAZY = {
    "ModelConfig": "modeling.model",
    "Prediction": "modeling.model",
    "RoleClassifier": "modeling.model",
    "Role": "taxonomy",
    "Taxonomy": "taxonomy",
    "label_dataframe": "labelling.frame",
    "load_taxonomy": "taxonomy",
    "Posting": "text",
    "posting_text": "text",
}


def __getattr__(name: str) -> Any:
    """Import a public name's submodule the first time the name is used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
