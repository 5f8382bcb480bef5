"""``role-classifier serve``: the page and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from . import common
from .app import app
from .common import Backend, BackendOpt, ModelOpt, TaxonomyOpt, WorkersOpt, fail, from_env

# every option of serve can come from $ROLE_CLASSIFIER_<NAME> too (a container's settings)
_ModelOpt = from_env(ModelOpt, "MODEL")
_TaxonomyOpt = from_env(TaxonomyOpt, "TAXONOMY")
_BackendOpt = from_env(BackendOpt, "BACKEND")
_WorkersOpt = from_env(WorkersOpt, "WORKERS")
_HostOpt = from_env(
    Annotated[
        str,
        typer.Option("--host", help="Address to bind; anything but 127.0.0.1 is warned about."),
    ],
    "HOST",
)
_PortOpt = from_env(
    Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")], "PORT"
)
_MaxUploadOpt = from_env(
    Annotated[float, typer.Option("--max-upload-mb", min=0.001, help="Largest CSV upload, in MB.")],
    "MAX_UPLOAD_MB",
)
_BatchWaitOpt = from_env(
    Annotated[
        float,
        typer.Option(
            "--batch-wait-ms",
            min=0.0,
            help="How long a request waits for others to share its forward pass, at most.",
        ),
    ],
    "BATCH_WAIT_MS",
)


@app.command("serve")
def serve_cli(
    host: _HostOpt = "127.0.0.1",
    port: _PortOpt = 8000,
    model: _ModelOpt = "default",
    taxonomy: _TaxonomyOpt = None,
    backend: _BackendOpt = Backend.onnx,
    workers: _WorkersOpt = None,
    max_upload_mb: _MaxUploadOpt = 50.0,
    batch_wait_ms: _BatchWaitOpt = 5.0,
) -> None:
    """Serve a page and a JSON API (POST /v1/classify, /v1/classify-batch), the model kept warm.

    Open http://127.0.0.1:8000/ for the page, /docs for the API. Ctrl-C stops it. Every option
    can also be set with its ROLE_CLASSIFIER_* environment variable; the command line wins.

    Examples:

        role-classifier serve

        role-classifier serve --port 8080 --model zero-shot --workers 2

        ROLE_CLASSIFIER_PORT=8080 role-classifier serve

        curl -s localhost:8000/v1/classify -H 'content-type: application/json' -d '{"text": "..."}'
    """
    import importlib.util

    missing = [
        m for m in ("fastapi", "uvicorn", "multipart") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise fail(
            f"{', '.join(missing)} not installed (serve needs them): "
            "pip install 'role-classifier[serve]'"
        )
    from ..serve import run

    clf = common.load_model(model, taxonomy, backend.value)
    run(
        clf,
        host=host,
        port=port,
        model_name=model,
        workers=workers,
        max_wait_ms=batch_wait_ms,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
    )
