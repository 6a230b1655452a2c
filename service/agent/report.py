"""The report an interview ends with: one model, shared by the API, the web page, the terminal chat and Slack."""

from __future__ import annotations

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
    model_answer: str
    trap_explained: str
    notices: list[str]
