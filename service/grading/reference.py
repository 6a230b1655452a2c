"""Questions outside the catalog: a rubric derived from a reference answer, then the same grader."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from service.catalog import (
    POINT_MAX_WORDS,
    Claim,
    Criterion,
    Levels,
    Point,
    RedFlag,
    Rubric,
    answer_hash,
    normalise_space,
)
from service.config import Settings
from service.errors import InvalidInputError
from service.grading.subject import Subject
from service.grading.text import sentences
from service.llm.client import LLM
from service.prompts import render

MAX_CRITERIA = 6
PASS_MARK = 60


def _weights(n: int) -> list[int]:
    base, extra = divmod(100, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def _at_least_a_sentence(text: str) -> str:
    """A one-word reference ("Paris.") still makes a criterion a rubric can hold."""
    return text if len(text) >= 10 else f"The answer states: {text}"


def claims_rubric(reference: str, trap_id: str = "adhoc") -> Rubric:
    """No-LLM derivation: each claim (sentence) of the reference is a criterion, at most six."""
    if not reference.strip():
        raise InvalidInputError("the reference answer is empty: nothing to derive criteria from")
    claims = sentences(reference) or [reference.strip()]  # no sentence in it (a symbol, a number): the whole of it
    groups: list[list[str]] = [[] for _ in range(min(len(claims), MAX_CRITERIA))]
    for i, claim in enumerate(claims):  # consecutive sentences share a criterion when there are many
        groups[i * len(groups) // len(claims)].append(claim)
    criteria = []
    for i, (group, weight) in enumerate(zip(groups, _weights(len(groups)), strict=True), 1):
        text = " ".join(group)
        criteria.append(
            Criterion(
                id=f"claim-{i}",
                description=_at_least_a_sentence(text),
                claim=_at_least_a_sentence(text),
                weight=weight,
                anchor=text,
                levels=Levels(none="Does not state this, or contradicts it.", partial=f"Part of: {text}", full=text),
            )
        )
    return Rubric(trap_id=trap_id, derived_from=answer_hash(reference), pass_mark=PASS_MARK, criteria=criteria)


class _DerivedCriterion(BaseModel):
    id: str = Field(description="lowercase-hyphenated")
    description: str
    weight: int = Field(ge=0, le=100)  # small models write 0; rescaled in code below
    anchor: str = Field(description="The exact span of the reference answer this criterion comes from.")
    points: list[str] = Field(
        default_factory=list, description="2 to 5 atomic statements, the core mechanism first, each under 25 words."
    )


class _DerivedFlag(BaseModel):
    id: str
    statement: str
    cap: int = Field(ge=0, le=100)
    claims: list[str] = Field(
        default_factory=list, description="1 to 3 plain assertions of the wrong answer; the first alone is the trap."
    )


class DerivedRubric(BaseModel):
    criteria: list[_DerivedCriterion] = Field(min_length=1, max_length=MAX_CRITERIA)
    red_flags: list[_DerivedFlag] = Field(default_factory=list, max_length=4)


def _slug(text: str, i: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or f"criterion-{i}"


async def llm_rubric(llm: LLM, settings: Settings, question: str, reference: str, trap_id: str = "adhoc") -> Rubric:
    """LLM derivation, then repaired in code: weights rescaled to 100, anchors checked against the text."""
    messages = [
        {"role": "system", "content": render(settings.prompts_dir, "derive_rubric.jinja")},
        {
            "role": "user",
            "content": render(
                settings.prompts_dir, "derive_rubric_input.jinja", question=question, reference=reference
            ),
        },
    ]
    drafted = await llm.astructured(messages, DerivedRubric)
    ref_norm = normalise_space(reference)
    ref_sents = sentences(reference)
    raw = [max(c.weight, 1) for c in drafted.criteria]
    weights = [max(1, round(100 * w / sum(raw))) for w in raw]
    weights[weights.index(max(weights))] += 100 - sum(weights)
    seen: set[str] = set()
    criteria = []
    for i, (c, w) in enumerate(zip(drafted.criteria, weights, strict=True), 1):
        cid = _slug(c.id, i)
        while cid in seen:
            cid = f"{cid}-{i}"
        seen.add(cid)
        anchor = (
            c.anchor
            if normalise_space(c.anchor) in ref_norm and len(c.anchor) >= 10
            else (ref_sents[min(i - 1, len(ref_sents) - 1)] if ref_sents else reference)
        )
        points = _points(c.points, anchor)
        others = min(1, max(len(points) - 1, 0))
        criteria.append(
            Criterion(
                id=cid,
                description=c.description if len(c.description) >= 10 else _at_least_a_sentence(anchor),
                claim=points[0].text if points else _at_least_a_sentence(anchor),
                weight=w,
                anchor=anchor,
                levels=_levels(points, others),
                points=points,
                full_others=others,
            )
        )
    flags = [
        RedFlag(
            id=_slug(f.id, i),
            statement=f.statement,
            cap=f.cap,
            claims=[
                Claim(id=_slug(text, n), text=text, raises=n == 1)
                for n, text in enumerate(_statements(f.claims or [f.statement])[:3], 1)
            ],
        )
        for i, f in enumerate(drafted.red_flags, 1)
        if len(f.statement) >= 10
    ]
    return Rubric(
        trap_id=trap_id, derived_from=answer_hash(reference), pass_mark=PASS_MARK, criteria=criteria, red_flags=flags
    )


def _statements(texts: list[str]) -> list[str]:
    """Drafted statements a reader can decide: long enough to say something, short enough to be one point."""
    out: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if len(text) >= 10 and len(text.split()) <= POINT_MAX_WORDS and text.lower() not in map(str.lower, out):
            out.append(text)
    return out


def _points(drafted: list[str], anchor: str) -> list[Point]:
    """A draft's points, the first as the core, each traced to the criterion's anchor (the author checks it)."""
    points, seen = [], set()
    for n, text in enumerate(_statements(drafted)[:5], 1):
        pid = _slug(text, n)
        while pid in seen:
            pid = f"{pid}-{n}"
        seen.add(pid)
        points.append(Point(id=pid, text=text, core=n == 1, source=anchor))
    return points


def _levels(points: list[Point], others: int) -> Levels:
    """The level texts a person reads, written from the point rule so they cannot disagree with it."""
    if not points:
        return Levels(none="Does not state this, or contradicts it.", partial="States part of it.", full="States it.")
    core = points[0].text.rstrip(".")
    return Levels(
        none="States none of the points.",
        partial=f"States the core point ({core}) or any one other point.",
        full=f"States the core point and at least {others} other point{'s' if others != 1 else ''}.",
    )


async def reference_subject(question: str, reference: str, *, llm: LLM | None, settings: Settings) -> Subject:
    """A Subject for a question outside the catalog; semantic claims when no LLM is given."""
    if not question.strip() or not reference.strip():
        raise InvalidInputError("a question and a reference_answer are both needed to derive criteria")
    rubric = await llm_rubric(llm, settings, question, reference) if llm else claims_rubric(reference)
    return Subject.from_reference(question, reference, rubric)
