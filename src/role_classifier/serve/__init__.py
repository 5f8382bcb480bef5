"""``role-classifier serve``: a page and a JSON API with the model kept warm.

Needs the ``serve`` extra (FastAPI, uvicorn, python-multipart). :func:`create_app` builds the
app (tests drive it with FastAPI's ``TestClient``); :func:`run` serves it with uvicorn.

Example:
    >>> from role_classifier import RoleClassifier
    >>> from role_classifier.serve import run
    >>> run(RoleClassifier.from_pretrained("default"), port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..modeling.model import RoleClassifier

__all__ = ["LOCAL_HOSTS", "ServeConfig", "create_app", "run"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
log = logging.getLogger("role_classifier.serve")


def run(
    model: RoleClassifier,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    **config: Any,
) -> None:
    """Serve ``model`` on ``host:port`` until Ctrl-C or SIGTERM (then shut down cleanly).

    Args:
        model: the classifier to serve.
        host: the address to bind; anything but loopback logs a warning (there is no login).
        port: the TCP port (0: any free port).
        log_level: uvicorn's and the request log's level.
        config: :class:`~role_classifier.serve.app.ServeConfig` fields (``model_name``,
            ``workers``, ``max_wait_ms``, ``max_upload_bytes``...).
    """
    import uvicorn

    from .app import ServeConfig, create_app

    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=log_level.upper())
    log.setLevel(log_level.upper())
    if host not in LOCAL_HOSTS:
        log.warning(
            "serving on %s: anyone who can reach this machine on port %d can use it (there is no "
            "login); bind 127.0.0.1 unless that is what you want",
            host,
            port,
        )
    app = create_app(model, ServeConfig(**config))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the app logs one line per request, with its time
        timeout_graceful_shutdown=10,
    )


def __getattr__(name: str) -> Any:
    if name in ("ServeConfig", "create_app"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
