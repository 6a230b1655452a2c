"""The report an interview ends with: one model, shared by the API, the web page, the terminal chat and Slack."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.catalog import Trap
from service.grading.models import Grade, Verdict
from service.grading.scoring import after_hints, verdict


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


def graded(trap: Trap, grade: Grade | None, hints: int) -> dict[str, Any]:
    """The report's fields that follow from its grade: the score less the hints' cost, the verdict, the
    criteria covered or not, the traps raised. Built once at the end, again when a dispute is accepted."""
    final, penalty = after_hints(grade.score if grade else 0, hints)
    names = {c.id: c.description for c in trap.rubric.criteria}
    crit = grade.criteria if grade else []
    statements = {f.id: f.statement for f in trap.rubric.red_flags}
    raised = grade.flag_evidence if grade else {}
    return {
        "grade": grade,
        "hint_penalty": penalty,
        "score": final,
        "verdict": verdict(final, trap.rubric.pass_mark),
        "strong": [names[c.id] for c in crit if c.score == 2],
        "missing": [names[c.id] for c in crit if c.score < 2] if crit else list(names.values()),
        # The trap each raised flag stands for, and the candidate's words that raised it.
        "red_flags": [RaisedFlag(id=f, statement=statements[f], evidence=quote) for f, quote in raised.items()],
    }
