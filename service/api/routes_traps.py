"""Readiness and the trap catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from service.api import deps
from service.api.models import Ready, TrapDetail, TrapHit, TrapSummary
from service.batch.records import NOT_BLANK
from service.catalog import Catalog
from service.errors import InvalidInputError
from service.index import TrapIndex

router = APIRouter()


@router.get("/readyz", response_model=Ready, response_model_exclude_none=True)
def readyz(request: Request, index: Annotated[TrapIndex, Depends(deps.index)]) -> Ready:
    ready = Ready(traps=len(index.catalog), index_current=index.is_current())
    if deps.settings(request).slack_bot_token:  # posts that failed after their retries, from any replica
        ready.slack_failed_posts, ready.slack_last_failure = deps.slack_state(request).failures()
    return ready


@router.get("/traps", response_model=list[TrapHit] | list[TrapSummary])
def list_traps(
    catalog: Annotated[Catalog, Depends(deps.catalog)],
    request_index: Annotated[TrapIndex, Depends(deps.index)],
    q: str | None = Query(
        None, description="Free-text search: a topic, symptom or question.", json_schema_extra={"pattern": NOT_BLANK}
    ),
    series: str | None = Query(None, pattern="^[a-z][a-z0-9]*$", description="mlsd, llm, adl, or a bank's series."),
    tag: str | None = None,
    k: int = Query(10, ge=1, le=200),
) -> list[TrapHit] | list[TrapSummary]:
    """The catalog, filtered; with `q`, the traps closest to it, best first."""
    known = sorted({t.card.series for t in catalog})
    if series is not None and series not in known:
        raise InvalidInputError(f"unknown series '{series}'; the series are {', '.join(known)}")
    if q is not None:
        hits = request_index.search(q, k=k, series=series, tag=tag)
        return [TrapHit(id=h.trap_id, title=h.title, score=h.score) for h in hits]
    return [
        TrapSummary(id=t.id, title=t.card.title, series=t.card.series, tags=t.card.tags, difficulty=t.card.difficulty)
        for t in catalog.filter(series=series, tag=tag)
    ]


@router.get("/traps/{trap_id}", response_model=TrapDetail)
def get_trap(trap_id: str, catalog: Annotated[Catalog, Depends(deps.catalog)]) -> TrapDetail:
    trap = catalog.get(trap_id)
    return TrapDetail(card=trap.card, rubric=trap.rubric)
