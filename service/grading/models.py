"""The Grade every grader returns (DESIGN.md), and what the LLM judge is asked to produce."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

Verdict = Literal["strong", "pass", "borderline", "fail"]
Mode = Literal["llm", "semantic"]
# Semantic mode's decision stage: the checklist (the reader decides each point and claim; the default), or
# the similarity rule alone (the grader before the reader, kept to measure against).
Decider = Literal["checklist", "similarity"]


class PointResult(BaseModel):
    """One rubric point as the reader (or the LLM judge) decided it."""

    id: str
    text: str
    core: bool = False
    status: Literal["stated", "partly", "contradicted", "missing"]
    evidence: str | None = Field(default=None, description="The passage that states it, verbatim, or null.")
    confidence: float | None = Field(default=None, description="P(entails) at that passage: debug output only.")


class CriterionScore(BaseModel):
    id: str
    score: int = Field(ge=0, le=2)
    max: int = 2
    evidence: str | None = Field(description="A verbatim quote from the answer, or null.")
    rationale: str
    points: list[PointResult] = Field(default_factory=list, description="Each point of the criterion, decided.")


class GraderInfo(BaseModel):
    mode: Mode
    model: str
    prompt_hash: str
    version: str


class Grade(BaseModel):
    trap_id: str | None
    score: int = Field(ge=0, le=100)
    verdict: Verdict
    fell_into_trap: bool
    criteria: list[CriterionScore]
    red_flags: list[str]
    # Beside DESIGN.md's shape: an accusation is explained like a score, by the candidate's own words.
    flag_evidence: dict[str, str] = Field(
        default_factory=dict, description="For each red flag raised, the quote from the answer that raised it."
    )
    feedback: str
    grader: GraderInfo
    score_scaled: float | None = None
    guard: str | None = Field(default=None, description="Why a guard capped the score, when one did.")
    unclear_flags: dict[str, str] = Field(
        default_factory=dict,
        description="Red flags the answer may have meant but did not clearly assert, with the passage: "
        "they cap nothing, and an interview asks about them.",
    )
    amendments: list[str] = Field(
        default_factory=list, description="Decisions a reviewer changed after a candidate's dispute, and why."
    )


# What the LLM judge returns for one checklist (a criterion's points, or a red flag's claims): per statement,
# reasoning first, then the same decision the reader makes, then the quote (openevals style). One call per
# checklist lets the server's prefix cache reuse the question and answer across the calls for one answer.
# No maxLength in the schema: llama.cpp turns bounded strings into grammar rules that made a
# 1.5B judge time out; brevity is asked in the prompt.
class PointJudgement(BaseModel):
    id: str = Field(description="The statement's id, as listed.")
    decision: Literal["entails", "partial", "contradicts", "neither"]
    quote: str | None = Field(description="The exact words from the answer that decide it, or null.")


class ChecklistJudgement(BaseModel):
    """Reasoning once, first, then a short decision per statement: a small model that reasons per
    statement writes past any sensible token limit."""

    reasoning: str = Field(description="One or two sentences: what the answer commits to on this checklist.")
    points: list[PointJudgement]


def checklist_schema(ids: list[str]) -> type[ChecklistJudgement]:
    """The judgement with its ids constrained to the statements asked about, so a schema-following
    server can only answer for them."""
    known: Any = Literal[tuple(ids)]
    point: Any = create_model("PointJudgement", __base__=PointJudgement, id=(known, ...))
    judgement: type[ChecklistJudgement] = create_model(
        "ChecklistJudgement", __base__=ChecklistJudgement, points=(list[point], Field(min_length=1))
    )
    return judgement
