"""Disputes over REST: a candidate disputes one decision of a session's report or a batch line's grade;
a reviewer (INTERVIEWER_REVIEWER_TOKEN) lists and settles them. See service/disputes.py."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from service.api import deps
from service.disputes import Decision, Dispute, DisputeIn, Settle
from service.grades import StoredGrades, batch_target, session_target

router = APIRouter(tags=["disputes"])
Grades = Annotated[StoredGrades, Depends(deps.grades)]


@router.get("/sessions/{session_id}/decisions", response_model=list[Decision])
async def session_decisions(session_id: str, grades: Grades) -> list[Decision]:
    """The report's decisions, numbered as disputes name them."""
    return await grades.decisions(session_target(session_id))


@router.get("/sessions/{session_id}/disputes", response_model=list[Dispute])
async def session_disputes(session_id: str, grades: Grades) -> list[Dispute]:
    return await asyncio.to_thread(grades.disputes.of, session_target(session_id))


@router.post("/sessions/{session_id}/disputes", status_code=201, response_model=Dispute)
async def dispute_session(session_id: str, body: DisputeIn, grades: Grades) -> Dispute:
    """Dispute one decision of the report. The grade does not change until a reviewer accepts it; the
    dispute says what the score would be if it stands."""
    return await grades.file(session_target(session_id), body)


@router.get("/batch/{job_id}/lines/{line}/decisions", response_model=list[Decision])
async def line_decisions(job_id: str, line: int, grades: Grades) -> list[Decision]:
    return await grades.decisions(batch_target(job_id, line))


@router.get("/batch/{job_id}/lines/{line}/disputes", response_model=list[Dispute])
async def line_disputes(job_id: str, line: int, grades: Grades) -> list[Dispute]:
    return await asyncio.to_thread(grades.disputes.of, batch_target(job_id, line))


@router.post("/batch/{job_id}/lines/{line}/disputes", status_code=201, response_model=Dispute)
async def dispute_line(job_id: str, line: int, body: DisputeIn, grades: Grades) -> Dispute:
    """Dispute one decision of a batch line's grade (the line's number in the upload, from 1)."""
    return await grades.file(batch_target(job_id, line), body)


reviewer = APIRouter(
    tags=["disputes"],
    dependencies=[Depends(deps.require_reviewer)],
    responses={403: {"description": "No reviewer token is set: disputes are settled with the CLI only."}},
)


@reviewer.get("/disputes", response_model=list[Dispute])
async def listed(grades: Grades, status: Literal["open", "accepted", "rejected"] | None = "open") -> list[Dispute]:
    """Reviewer: the disputes, open ones by default."""
    return await asyncio.to_thread(grades.disputes.listed, status)


@reviewer.post("/disputes/{dispute_id}/accept", response_model=Dispute)
async def accept(dispute_id: str, body: Settle, grades: Grades) -> Dispute:
    """Reviewer: the dispute stands; the stored grade is regraded and says so in `amendments`."""
    return await grades.accept(dispute_id, body)


@reviewer.post("/disputes/{dispute_id}/reject", response_model=Dispute)
async def reject(dispute_id: str, body: Settle, grades: Grades) -> Dispute:
    """Reviewer: the decision stands as graded."""
    return await grades.reject(dispute_id, body)
