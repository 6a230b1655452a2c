"""The Grade every grader returns (DESIGN.md), and what the LLM judge is asked to produce."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["strong", "pass", "borderline", "fail"]
Mode = Literal["llm", "semantic"]


class CriterionScore(BaseModel):
    id: str
    score: int = Field(ge=0, le=2)
    max: int = 2
    evidence: str | None = Field(description="A verbatim quote from the answer, or null.")
    rationale: str


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
    feedback: str
    grader: GraderInfo
    score_scaled: float | None = None
    guard: str | None = Field(default=None, description="Why a guard capped the score, when one did.")


# What the LLM judge returns: reasoning first, then the decision, per criterion (openevals style).
class JudgedCriterion(BaseModel):
    id: str
    reasoning: str = Field(description="One or two sentences: what the answer says about this criterion.")
    level: Literal["none", "partial", "full"]
    quote: str | None = Field(description="The exact words from the answer that support the level, or null.")


class Judgement(BaseModel):
    criteria: list[JudgedCriterion]
    red_flags: list[str] = Field(description="Ids of the red flags the answer asserts; empty if none.")
    feedback: str = Field(description="Two or three sentences of feedback to the candidate.")
