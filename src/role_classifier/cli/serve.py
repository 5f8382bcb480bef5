"""``role-classifier serve``: the page and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from . import common
from .app import app
from .common import BackendOpt, ModelOpt, TaxonomyOpt, WorkersOpt, fail


@app.command("serve")
def serve_cli(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind; anything but 127.0.0.1 is warned about."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    model: ModelOpt = "default",
    taxonomy: TaxonomyOpt = None,
    backend: BackendOpt = "onnx",
    workers: WorkersOpt = None,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest CSV upload, in MB.")
    ] = 50.0,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            "--batch-wait-ms",
            min=0.0,
            help="How long a request waits for others to share its forward pass, at most.",
        ),
    ] = 5.0,
) -> None:
    """Serve a page and a JSON API (POST /v1/classify, /v1/classify-batch), the model kept warm.

    Open http://127.0.0.1:8000/ for the page, /docs for the API. Ctrl-C stops it.

    Examples:

        role-classifier serve

        role-classifier serve --port 8080 --model zero-shot --workers 2

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

    clf = common.load_model(model, taxonomy, backend)
    run(
        clf,
        host=host,
        port=port,
        model_name=model,
        workers=workers,
        max_wait_ms=batch_wait_ms,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
    )
