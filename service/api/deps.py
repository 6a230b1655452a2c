"""Dependencies shared by the routes: settings, catalog and index of the running app."""

from __future__ import annotations

from fastapi import Request

from service import runtime
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.config import Settings
from service.index import TrapIndex


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def catalog(request: Request) -> Catalog:
    return runtime.catalog(settings(request))


def index(request: Request) -> TrapIndex:
    return runtime.index(settings(request))


def interviewer(request: Request) -> Interviewer:
    """One interviewer per app, built on first use (it may start the local model server)."""
    iv = getattr(request.app.state, "interviewer", None)
    if iv is None:
        iv = request.app.state.interviewer = Interviewer(settings(request))
    return iv  # type: ignore[no-any-return]
