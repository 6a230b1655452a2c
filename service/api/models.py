"""The shapes the HTTP routes answer with, so /docs shows every response."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.agent.report import Hint, Report
from service.catalog import Card, Rubric, Series


class ErrorBody(BaseModel):
    """Every error, ours or a request's validation: one sentence saying what was wrong."""

    detail: str
    nearest: list[str] | None = Field(default=None, description="For an unknown trap id: the closest ids.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="A validation error's details, by field.")


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what}
    for code, what in {
        400: "The body could not be read.",
        401: "Missing or wrong bearer token.",
        404: "Unknown trap, session or batch job.",
        422: "A field is missing, empty, malformed or over its length limit.",
        503: "The model or the database is unreachable; Retry-After says when to try again.",
    }.items()
}


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    traps: int
    index_current: bool = Field(description="False when the cards changed since the index was built.")
    slack_failed_posts: int | None = Field(
        default=None, description="Slack posts that failed after their retries (null: Slack not configured)."
    )
    slack_last_failure: str | None = None


class TrapSummary(BaseModel):
    id: str
    title: str
    series: Series
    tags: list[str]
    difficulty: str


class TrapHit(BaseModel):
    id: str
    title: str
    score: float = Field(description="Fused retrieval score; higher is closer.")


class TrapDetail(BaseModel):
    card: Card
    rubric: Rubric


class TranscriptTurn(BaseModel):
    role: Literal["interviewer", "candidate"]
    content: str
    kind: str


class Alternative(BaseModel):
    trap_id: str
    title: str


class SessionView(BaseModel):
    session_id: str
    trap_id: str
    user: str | None
    status: Literal["active", "finished"]
    transcript: list[TranscriptTurn]
    coverage: dict[str, int] = Field(description="Each criterion's coverage so far, 0-2.")
    hints: list[Hint]
    report: Report | None
    alternatives: list[Alternative]


class TopicScore(BaseModel):
    mean_score: float
    sessions: int


class SessionRow(BaseModel):
    id: str
    trap_id: str
    status: str
    score: int | None
    verdict: str | None
    started: float = Field(description="Unix time the session opened.")
    finished: float | None = Field(default=None, description="Unix time of its report.")


class Progress(BaseModel):
    user: str
    sessions: int
    finished: int
    seen: list[str]
    by_topic: dict[str, TopicScore]
    history: list[SessionRow]


class BatchAccepted(BaseModel):
    id: str
    state: Literal["running"] = "running"
    status_url: str


class BatchJob(BaseModel):
    id: str
    state: Literal["running", "done", "failed"]
    graded: int = 0
    errors: int = 0
    skipped: int = Field(default=0, description="Lines an earlier run of the job already graded.")
    duplicates: list[str] = []
    lines_per_s: float | None = None
    detail: str | None = Field(default=None, description="Why the job failed.")
    results: list[dict[str, Any]] | None = Field(
        default=None, description="With ?results=true, once done: one grade (or error) per input line."
    )


class SlackMessage(BaseModel):
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    text: str


class SlackAck(BaseModel):
    """Slack's URL check gets its challenge back; every event gets ok (duplicate: a retried delivery)."""

    challenge: str | None = None
    ok: bool | None = None
    duplicate: bool | None = None
