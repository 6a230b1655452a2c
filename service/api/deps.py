"""Dependencies shared by the routes: settings, catalog and index of the running app."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import HTTPException, Request

from service.agent.session import Interviewer
from service.batch.jobs import BatchJobs
from service.catalog import Catalog
from service.config import Settings
from service.disputes import Disputes
from service.grades import StoredGrades
from service.index import TrapIndex
from service.runtime import Runtime
from service.slack import SlackState

_lock = threading.Lock()
T = TypeVar("T")


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def runtime(request: Request) -> Runtime:
    """The app's process-wide state, built by its lifespan."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def catalog(request: Request) -> Catalog:
    return runtime(request).catalog


def index(request: Request) -> TrapIndex:
    return runtime(request).index


def _per_app(app: Any, name: str, build: Callable[[], T]) -> T:
    """The app's one `name`, built on first use."""
    with _lock:
        if getattr(app.state, name, None) is None:
            setattr(app.state, name, build())
        return getattr(app.state, name)  # type: ignore[no-any-return]


def interviewer_for(app: Any) -> Interviewer:
    """The app's interviewer, opened by its lifespan (in the app's own event loop)."""
    iv = getattr(app.state, "interviewer", None)
    if iv is None:
        raise RuntimeError("the app was not started: run it under uvicorn, or `with TestClient(app)` in tests")
    return iv  # type: ignore[no-any-return]


def batch_jobs_for(app: Any) -> BatchJobs:
    return _per_app(app, "batch_jobs", lambda: BatchJobs(app.state.settings))


def batch_jobs(request: Request) -> BatchJobs:
    return batch_jobs_for(request.app)


def interviewer(request: Request) -> Interviewer:
    return interviewer_for(request.app)


def authorised(settings: Settings, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """True when no token is configured, or the request carries it (header, or ?token= for browsers' sockets)."""
    if not settings.api_token:
        return True
    given = headers.get("authorization", "")
    token = given[7:] if given.lower().startswith("bearer ") else query.get("token", "")
    return hmac.compare_digest(token.encode(), settings.api_token.encode())


def require_token(request: Request) -> None:
    if not authorised(settings(request), request.headers, request.query_params):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token (INTERVIEWER_API_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_reviewer(request: Request) -> None:
    """Settling a dispute changes a grade: only the reviewer token may, and with none set only the CLI can."""
    token = settings(request).reviewer_token
    if not token:
        raise HTTPException(
            status_code=403,
            detail="no reviewer token is set (INTERVIEWER_REVIEWER_TOKEN): settle disputes with `interviewer disputes`",
        )
    given = request.headers.get("authorization", "")
    if not (given.lower().startswith("bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())):
        raise HTTPException(
            status_code=401, detail="missing or wrong reviewer token", headers={"WWW-Authenticate": "Bearer"}
        )


def disputes_for(app: Any) -> Disputes:
    return _per_app(app, "disputes", lambda: Disputes(app.state.settings))


def grades_for(app: Any) -> StoredGrades:
    """Disputable grades: the interviewer's reports and the batch jobs' results, and their disputes."""
    parts = interviewer_for(app), batch_jobs_for(app), disputes_for(app)  # each takes the lock _per_app holds
    return _per_app(app, "grades", lambda: StoredGrades(*parts))


def grades(request: Request) -> StoredGrades:
    return grades_for(request.app)


def slack_state(request: Request) -> SlackState:
    return _per_app(request.app, "slack_state", lambda: SlackState(request.app.state.settings))
