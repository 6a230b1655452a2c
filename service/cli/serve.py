"""`interviewer serve`: run the HTTP service, in one process or several."""

from __future__ import annotations

import os

import typer

from service.config import get_settings


def serve(
    host: str | None = typer.Option(None, help="Default: INTERVIEWER_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: INTERVIEWER_PORT (8000)."),
    workers: int | None = typer.Option(
        None, min=1, help="Service processes. Default: INTERVIEWER_WORKERS (one per core, at most 4)."
    ),
) -> None:
    """Serve the REST API, the WebSocket, the web chat page and the Slack routes."""
    import uvicorn

    from service.api import app as service_app
    from service.llm import local

    settings = get_settings()
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    if workers == 1:
        uvicorn.run(service_app.warm(service_app.create_app(settings)), host=host, port=port, log_level="info")
        return
    # Before the workers start, once, here: the index built, the embedder exported and the cards
    # embedded (the workers load both files), and the model servers started, which every worker
    # then shares (see Settings.local_servers).
    service_app.warm(service_app.create_app(settings))
    os.environ["INTERVIEWER_LOCAL_SERVERS"] = local.running_json()
    uvicorn.run("service.api.app:worker_app", factory=True, host=host, port=port, workers=workers, log_level="info")
