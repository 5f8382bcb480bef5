"""The one base class of user mistakes.

Every error that a user can fix (a wrong option, a missing column, a bad file, an unknown model)
is a :class:`UserError`: the command line prints its message on one line and exits with code 2,
the API answers it with a 4xx status. Anything else is a bug or an outage and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """A mistake the user can fix; the message says what to do.

    Example:
        >>> try:
        ...     raise UserError("no text column 'body'; the input's columns are: 'title'")
        ... except UserError as exc:
        ...     print(f"error: {exc}")
        error: no text column 'body'; the input's columns are: 'title'
    """
