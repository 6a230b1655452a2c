"""The report an interview ends with: one model, shared by the API, the web page, the terminal chat and Slack."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.grading.models import Grade, Verdict


class Hint(BaseModel):
    criterion: str
    text: str
    penalty: int


class RaisedFlag(BaseModel):
    """A trap the candidate fell into, and the words of theirs that raised it."""

    id: str
    statement: str
    evidence: str


class CheckedFlag(BaseModel):
    """A trap claim the answer said only in part, the question that asked about it, and what the reply settled."""

    flag: str
    passage: str = Field(description="The candidate's words that were read weakly as the trap.")
    question: str
    reply: str
    outcome: Literal["kept", "dropped", "unclear"] = Field(
        description="kept: the flag is raised; dropped: cleared; unclear: the reply settled nothing."
    )


class Report(BaseModel):
    trap_id: str
    title: str
    grade: Grade | None = Field(description="The transcript's grade; null when the candidate gave no answer.")
    hints: list[Hint]
    hint_penalty: int
    score: int = Field(ge=0, le=100, description="The grade's score less the hints' penalty.")
    verdict: Verdict
    strong: list[str] = Field(description="Criteria covered in full.")
    missing: list[str] = Field(description="Criteria not covered in full.")
    red_flags: list[RaisedFlag]
    checked_flags: list[CheckedFlag] = Field(
        default_factory=list, description="Trap claims asked about in the interview, and how the reply settled each."
    )
    model_answer: str
    trap_explained: str
    notices: list[str]
