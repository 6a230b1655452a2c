"""The FastAPI application: one factory, so tests build an app on their own settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match

from service import __version__
from service.agent.session import Interviewer
from service.api import deps, routes_batch, routes_disputes, routes_sessions, routes_slack, routes_traps, routes_ws
from service.api.models import ERRORS, Health
from service.config import Settings, get_settings
from service.errors import IndexError_, InterviewerError, UnknownTrapError
from service.runtime import Runtime

STATIC = Path(__file__).with_name("static")
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = app.state.runtime = await asyncio.to_thread(Runtime.build, settings)
        try:  # built here if the cards changed, not on a first request
            await asyncio.to_thread(rt.index.ready)
        except IndexError_ as exc:  # traps by id still work; searches say why they fail, and try again
            log.warning("retrieval unavailable at start: %s", exc.message)
        # The cards' vectors, so no candidate's first answer on a trap waits ~1 s for them to be embedded.
        await asyncio.to_thread(rt.warm_cards)
        # Batch jobs: those this replica runs keep their leases, and those a dead replica left are taken over.
        jobs = deps.batch_jobs_for(app)
        leases = asyncio.create_task(routes_batch.keep_leases(app, jobs, rt), name="batch-leases")
        async with Interviewer.open(rt) as interviewer:
            app.state.interviewer = interviewer
            yield
            if app.state.turns:  # turns whose clients left still finish and are saved before the store closes
                await asyncio.wait(app.state.turns, timeout=settings.timeout)
        leases.cancel()
        await routes_batch.stop_jobs(app, jobs)

    app = FastAPI(title="Mock interviewer", version=__version__, description=__doc__, lifespan=lifespan)
    app.state.settings = settings
    app.state.batch_tasks = {}  # job id → the task running it on this app's loop
    app.state.turns = set()  # WebSocket turns in flight, which outlive a dropped connection
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )

    @app.exception_handler(InterviewerError)
    async def _our_errors(request: Request, exc: InterviewerError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if isinstance(exc, UnknownTrapError):
            body["nearest"] = exc.nearest
        headers = {"Retry-After": "30"} if exc.status_code == 503 else None  # model or store down: try again
        return JSONResponse(status_code=exc.status_code, content=body, headers=headers)

    @app.exception_handler(405)
    async def _not_allowed(request: Request, exc: Exception) -> JSONResponse:
        """Starlette's 405 lists only the methods of the first route on the path; a path served by two
        routes (GET and POST of a grade's disputes) allows the methods of both."""
        allowed: set[str] = set()
        for route in app.router.routes:
            if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
                allowed |= route.methods or set()
        headers = {"Allow": ", ".join(sorted(allowed))}
        return JSONResponse(status_code=405, content={"detail": "Method Not Allowed"}, headers=headers)

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """Liveness: the only route that never needs the token."""
        return Health()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A malformed request says what was wrong in one sentence, like every other error; the
        per-field details stay in `errors`."""
        errors = jsonable_encoder(exc.errors())
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", []) if p not in ("body", "query", "path"))
        detail = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The schema, with the series this catalog has (banks add theirs) as the `series` filter's values."""
        schema = base_openapi()
        runtime = getattr(app.state, "runtime", None)
        if runtime is not None:
            for param in schema["paths"]["/traps"]["get"].get("parameters", []):
                if param["name"] == "series":
                    series = sorted({t.card.series for t in runtime.catalog})
                    param["schema"] = {"anyOf": [{"type": "string", "enum": series}, {"type": "null"}]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    guarded = [Depends(deps.require_token)]
    app.include_router(routes_traps.router, dependencies=guarded, responses=ERRORS)
    app.include_router(routes_sessions.router, dependencies=guarded, responses=ERRORS)
    app.include_router(routes_batch.router, dependencies=guarded, responses=ERRORS)
    app.include_router(routes_disputes.router, dependencies=guarded, responses=ERRORS)
    app.include_router(routes_disputes.reviewer, responses=ERRORS)  # the reviewer's own token, not the API's
    app.include_router(routes_slack.router, responses=ERRORS)  # authenticated by Slack's signature, not the token
    app.include_router(routes_ws.router)  # checks the token itself: sockets cannot use dependencies' 401
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        """The web chat (static files, no build step)."""
        return FileResponse(STATIC / "index.html")

    return app
