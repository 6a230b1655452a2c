"""`interviewer serve`: run the HTTP service, in one process or several."""

from __future__ import annotations

import contextlib

import typer

from service.config import Settings, get_settings
from service.errors import ModelError


def serve(
    host: str | None = typer.Option(None, help="Default: INTERVIEWER_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: INTERVIEWER_PORT (8000)."),
    workers: int | None = typer.Option(
        None, min=1, help="Service processes. Default: INTERVIEWER_WORKERS (one per core, at most 4)."
    ),
) -> None:
    """Serve the REST API, the WebSocket, the web chat page and the Slack routes."""
    import uvicorn

    settings = get_settings()
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    _start_model_servers(settings)
    if workers == 1:
        from service.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    else:  # uvicorn's own workers, each building its app from the same settings
        uvicorn.run("service.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def _start_model_servers(settings: Settings) -> None:
    """Start the embedded model servers the interviewer and grader will call, once, at the ports the
    settings give them: every worker finds them there."""
    from service.grading.factory import default_mode
    from service.llm.factory import endpoints_for

    roles = (["ask"] if settings.mode == "llm" else []) + (["grade"] if default_mode(settings) == "llm" else [])
    for role in roles:
        # Starts the local server when no provider model is set. On failure each worker meets the same
        # error and says so in its notices, as one process would.
        with contextlib.suppress(ModelError):
            endpoints_for(settings, role)  # type: ignore[arg-type]
