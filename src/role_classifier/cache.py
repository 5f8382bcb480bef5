"""The one cache folder: built ONNX files and role embeddings of other taxonomies.

``$ROLE_CLASSIFIER_CACHE`` or the platform's user cache folder; a folder that cannot be written
falls back to one in the system's temporary directory, with a warning.
"""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
from pathlib import Path

from .errors import UserError

__all__ = ["CACHE_ENV", "CacheError", "cache_dir", "warn"]

CACHE_ENV = "ROLE_CLASSIFIER_CACHE"


class CacheError(UserError, RuntimeError):
    """The ONNX file can be neither found nor built; the message says which folder to set."""


def warn(message: str) -> None:
    """One line on stderr, prefixed with the tool's name."""
    print(f"role-classifier: {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """The folder for built ONNX files: ``$ROLE_CLASSIFIER_CACHE`` or the user cache folder.

    A folder that cannot be created or written to falls back to a folder in the system's
    temporary directory, with a warning naming ``ROLE_CLASSIFIER_CACHE``.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        wanted = Path(configured).expanduser()
    else:
        from platformdirs import user_cache_dir

        wanted = Path(user_cache_dir("role-classifier", appauthor=False))
    if _writable(wanted):
        return wanted
    fallback = Path(tempfile.gettempdir()) / f"role-classifier-cache-{_user()}"
    if _writable(fallback):
        warn(
            f"cannot write to the cache folder {wanted}; using {fallback} instead "
            f"(set {CACHE_ENV} to a writable folder to keep the built model)"
        )
        return fallback
    raise CacheError(
        f"no writable cache folder ({wanted} and {fallback} both failed): set {CACHE_ENV} "
        "to a writable folder"
    )


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def _user() -> str:
    """A name for this user's fallback folder, on any platform (``os.getuid`` is POSIX-only)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "user"
