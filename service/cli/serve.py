"""`interviewer serve`: run the HTTP service, in one process or several."""

from __future__ import annotations

import contextlib
import multiprocessing
import os

import typer

from service.config import get_settings
from service.errors import InterviewerError, ModelError


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
    if workers == 1:
        from service.api import app as service_app

        uvicorn.run(service_app.warm(service_app.create_app(settings)), host=host, port=port, log_level="info")
        return
    # The parent only supervises, so it stays small: the index, the embedder's export and the cards'
    # vectors are made once by a short-lived process (the workers load the files), and the model
    # servers are started here, once, for every worker to share (see Settings.local_servers).
    prepare = multiprocessing.get_context("spawn").Process(target=_prepare_files, name="prepare")
    prepare.start()
    prepare.join()
    if prepare.exitcode != 0:
        raise InterviewerError(f"preparing the index and the cards' vectors failed (exit code {prepare.exitcode})")
    os.environ["INTERVIEWER_LOCAL_SERVERS"] = _start_model_servers()
    uvicorn.run("service.api.app:worker_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def _prepare_files() -> None:
    from service import runtime

    runtime.index()
    runtime.warm_cards()


def _start_model_servers() -> str:
    """The embedded model servers the workers' interviewer and grader will call, started; their addresses."""
    from service.grading.factory import default_mode
    from service.llm import local
    from service.llm.client import Role
    from service.llm.factory import endpoints_for

    settings = get_settings()
    roles: list[Role] = []
    if settings.mode == "llm":
        roles.append("ask")
    if default_mode(settings) == "llm":
        roles.append("grade")
    for role in roles:
        # Starts the local server when no provider model is set. On failure each worker meets the same
        # error and says so in its notices, as one process would.
        with contextlib.suppress(ModelError):
            endpoints_for(settings, role)
    return local.running_json()
