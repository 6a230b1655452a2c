"""The Grade every grader returns (DESIGN.md), and what the LLM judge is asked to produce."""

from __future__ import annotations

from typing import Any, Literal

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
# No maxLength in the schema: llama.cpp turns bounded strings into grammar rules that made a
# 1.5B judge time out (300 s) where the unbounded schema took 246 s; brevity is asked in the prompt.
def _short(description: str) -> Any:
    return Field(description=description)


class JudgedCriterion(BaseModel):
    id: str
    reasoning: str = _short("One short sentence: what the answer says on this criterion.")
    level: Literal["none", "partial", "full"]
    quote: str | None = _short("The exact words from the answer that support the level, or null.")


class FlagHit(BaseModel):
    id: str
    quote: str = _short("The exact words in which the answer asserts this red flag.")


class Judgement(BaseModel):
    criteria: list[JudgedCriterion]
    red_flags: list[FlagHit] = Field(description="Red flags the answer asserts, each with its quote; usually empty.")
    feedback: str = _short("Two sentences of feedback to the candidate.")
