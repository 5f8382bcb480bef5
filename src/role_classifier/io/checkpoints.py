"""The checkpoint files that make ``label-csv`` resumable: written atomically, read back.

:func:`save_checkpoint` writes a JSON state atomically (temp file, fsync, ``os.replace``);
:func:`load_checkpoint` reads it back; :func:`input_identity` is what a resumed run checks the
input against.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

__all__ = ["fsync", "input_identity", "load_checkpoint", "save_checkpoint"]


def input_identity(path: Path) -> dict[str, Any]:
    """What identifies an input file for a resume: its absolute path, size and mtime."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def fsync(f: IO[bytes]) -> None:
    """Flush a stream and make the OS write it to disk."""
    f.flush()
    os.fsync(f.fileno())


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically: a temp file, fsync, then ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
        fsync(f)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint; ``ValueError`` or ``OSError`` when it is unreadable."""
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    return state
