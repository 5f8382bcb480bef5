"""role-classifier: which AI/ML role is a job posting hiring for?

Example:
    >>> from role_classifier import RoleClassifier
    >>> clf = RoleClassifier.from_pretrained("default")  # doctest: +SKIP
    >>> clf.predict("You will own our KServe model serving and MLflow registry.")  # doctest: +SKIP
    'MLOps Engineer'
"""

from .model import ModelConfig, Prediction, RoleClassifier
from .taxonomy import Role, Taxonomy, load_taxonomy
from .text import Posting, posting_text

__all__ = [
    "ModelConfig",
    "Posting",
    "Prediction",
    "Role",
    "RoleClassifier",
    "Taxonomy",
    "load_taxonomy",
    "posting_text",
]
__version__ = "0.1.0"
