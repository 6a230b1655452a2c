"""Dependencies shared by the routes: settings, catalog and index of the running app."""

from __future__ import annotations

from fastapi import Request

from service import runtime
from service.catalog import Catalog
from service.config import Settings
from service.index import TrapIndex


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def catalog(request: Request) -> Catalog:
    return runtime.catalog(settings(request))


def index(request: Request) -> TrapIndex:
    return runtime.index(settings(request))
