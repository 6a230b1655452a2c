"""`interviewer serve`: run the HTTP service."""

from __future__ import annotations

import typer

from service.config import get_settings


def serve(
    host: str | None = typer.Option(None, help="Default: INTERVIEWER_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: INTERVIEWER_PORT (8000)."),
) -> None:
    """Serve the REST API, the WebSocket, the web chat page and the Slack routes."""
    import uvicorn

    from service import runtime
    from service.api import deps
    from service.api.app import create_app

    settings = get_settings()
    runtime.index(settings)  # build or load the index before the first request, not during it
    app = create_app(settings)
    deps.interviewer_for(app)  # and the model server and the interviewer
    runtime.settle()
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")
