"""The grader behind every score: LLM judge or semantic evidence, with verified quotes and guards."""

from __future__ import annotations

import asyncio
import logging
from typing import TypeVar

from service.catalog import Claim, Point
from service.config import Settings
from service.embeddings import MODEL_NAME, offload
from service.errors import InvalidInputError, TooLargeError
from service.grading import checklist, semantic
from service.grading.cache import GradeCache, cache_key
from service.grading.entailment import cross_encoder
from service.grading.models import CriterionScore, Decider, Grade, GraderInfo, Mode, checklist_schema
from service.grading.scoring import final_score, guarded, verdict, verify_quote
from service.grading.subject import Subject
from service.llm.client import LLM
from service.prompts import prompt_hash, render

log = logging.getLogger(__name__)
# 1.1: reference claims also count the claim's own words; 1.2: red flags carry a quote, and the trap's
# sentences count as on topic; 2.0: criteria gain claims and a cross-encoder reads (statement, passage) pairs;
# 3.0: the checklist: the reader decides each rubric point and flag claim, levels follow from the points
GRADER_VERSION = "3.0"
PROMPTS = ("grade_system.jinja", "grade_user.jinja", "grade_checklist.jinja")


DECIDERS = {
    "checklist": checklist.checklist_decision,  # the default: the reader decides points and claims
    "similarity": semantic.decide,  # the grader before the reader, kept to measure against
}


def check_answer(answer: str, max_chars: int, what: str = "answer", empty: str = "there is nothing to grade") -> str:
    """The text as given, or a clear error for one that is empty or too long: the one size check for
    answers, batch lines and interview messages alike."""
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidInputError(f"the {what} is empty: {empty}")
    if len(answer) > max_chars:
        raise TooLargeError(f"the {what} is {len(answer):,} characters; the limit is {max_chars:,}")
    return answer


def _unit_quote(unit: str, answer: str) -> str:
    """A semantic unit as the candidate wrote it (their spacing and case); units are drawn from the answer."""
    return verify_quote(unit, answer) or unit


def _feedback(
    subject: Subject, scores: list[CriterionScore], flags: list[str], guard: str | None, unclear: list[str]
) -> str:
    """In the criteria's own words: what was covered, what only in part, and what has no support."""
    names = {c.id: c.description.rstrip(".") + "." for c in subject.rubric.criteria}
    by_level = {lv: [names[s.id] for s in scores if s.score == lv] for lv in (2, 1, 0)}
    parts = []
    if guard:
        parts.append(f"This answer cannot pass: {guard}.")
    if flags:
        statements = {f.id: f.statement for f in subject.rubric.red_flags}
        parts.append("It falls into the trap: " + " ".join(statements[f] for f in flags))
    for f in subject.rubric.red_flags:
        if f.id in unclear:
            meant = next((c.text for c in checklist.claims_of(f) if c.raises), f.statement).rstrip(".")
            parts.append(f"You may have meant that {meant[0].lower()}{meant[1:]}; if so, that is the trap.")
    if by_level[2]:
        parts.append("Covered well: " + " ".join(by_level[2]))
    if by_level[1]:
        parts.append("Covered in part: " + " ".join(by_level[1]))
    if by_level[0]:
        parts.append("Missing: " + " ".join(by_level[0]))
    return " ".join(parts)


class Grader:
    """Grades answers against a Subject; built by `make_grader` only."""

    def __init__(
        self,
        *,
        settings: Settings,
        mode: Mode,
        llm: LLM | None,
        cache: GradeCache | None,
        decider: Decider = "checklist",
    ) -> None:
        if mode == "llm" and llm is None:
            raise ValueError("llm mode needs an LLM")
        self.settings = settings
        self.mode = mode
        self.decider = decider
        self.llm = llm
        self.cache = cache
        self.prompt_hash = prompt_hash(settings.prompts_dir, *PROMPTS) if mode == "llm" else "semantic"

    @property
    def info(self) -> GraderInfo:
        if self.llm:
            model = self.llm.model_name
        elif self.decider == "checklist":
            model = f"{MODEL_NAME} + {cross_encoder().name}"
        else:
            model = MODEL_NAME
        return GraderInfo(mode=self.mode, model=model, prompt_hash=self.prompt_hash, version=GRADER_VERSION)

    def _key(self, subject: Subject, answer: str) -> str:
        s = self.settings
        return cache_key(
            self.info.model_dump_json(),
            subject.key,
            answer,
            s.temperature,
            s.seed,
            semantic.thresholds_for(subject).model_dump_json(),
            self.decider,
            checklist.reader_thresholds().model_dump_json(),
        )

    def _evidence(
        self, subject: Subject, answer: str
    ) -> tuple[str, Grade | None, semantic.Thresholds, semantic.Evidence | None]:
        """Checks, cache lookup and semantic evidence: the sync part every grade starts with."""
        check_answer(answer, self.settings.max_answer_chars)
        key = self._key(subject, answer)
        th = semantic.thresholds_for(subject)
        if self.cache is not None and (hit := self.cache.get(key)):
            return key, hit, th, None
        return key, None, th, semantic.analyse(subject, answer, th)

    def _finish(
        self,
        key: str,
        subject: Subject,
        scores: list[CriterionScore],
        flags: dict[str, str],
        guard: str | None,
        th: semantic.Thresholds,
        unclear: dict[str, str] | None = None,
    ) -> Grade:
        """flags: each red flag raised, with the quote that raised it; unclear: those read weakly."""
        unclear = unclear or {}
        score = guarded(final_score(subject.rubric, scores, list(flags)), guard, th.guard_cap, subject.rubric.pass_mark)
        grade = Grade(
            trap_id=subject.trap_id,
            score=score,
            verdict=verdict(score, subject.rubric.pass_mark),
            fell_into_trap=bool(flags),
            criteria=scores,
            red_flags=list(flags),
            flag_evidence=flags,
            feedback=_feedback(subject, scores, list(flags), guard, list(unclear)),
            grader=self.info,
            guard=guard,
            unclear_flags=unclear,
        )
        if self.cache is not None:
            self.cache.put(key, grade)
        return grade

    def _grade_from_evidence(
        self, subject: Subject, answer: str
    ) -> Grade | tuple[str, semantic.Thresholds, str | None]:
        """A finished grade when no model is needed; otherwise what the LLM path needs to go on."""
        key, hit, th, ev = self._evidence(subject, answer)
        if hit is not None:
            return hit
        assert ev is not None
        if self.mode == "llm" and (guard := semantic.guard(ev, th)) is None:
            return key, th, guard
        # Semantic mode, or an answer no model should be asked about.
        decision = self._decide(subject, ev, th)
        flag_quotes = {f: _unit_quote(u, answer) for f, u in decision.flag_evidence.items()}
        unclear = {f: _unit_quote(u, answer) for f, u in decision.unclear.items()}
        scores = self._scores(subject, answer, decision)
        return self._finish(key, subject, scores, flag_quotes, decision.guard, th, unclear)

    def _decide(self, subject: Subject, ev: semantic.Evidence, th: semantic.Thresholds) -> semantic.Decision:
        return DECIDERS[self.decider](subject, ev, th)

    async def agrade(self, subject: Subject, answer: str) -> Grade:
        first = await offload(self._grade_from_evidence, subject, answer)
        if isinstance(first, Grade):
            return first
        key, th, guard = first
        scores, flags, unclear = await self._judge(subject, answer)
        return self._finish(key, subject, scores, flags, guard, th, unclear)

    def grade(self, subject: Subject, answer: str) -> Grade:
        """Sync grading, for scripts and tests outside any event loop."""
        return asyncio.run(self.agrade(subject, answer))

    @staticmethod
    def _scores(subject: Subject, answer: str, decision: semantic.Decision) -> list[CriterionScore]:
        points = decision.points or [[] for _ in subject.rubric.criteria]
        for read in points:
            for p in read:
                p.evidence = _unit_quote(p.evidence, answer) if p.evidence else None
        return [
            CriterionScore(
                id=c.id,
                score=lv,
                evidence=_unit_quote(unit, answer) if lv and unit else None,
                rationale=why,
                points=read,
            )
            for c, lv, unit, why, read in zip(
                subject.rubric.criteria, decision.levels, decision.evidence, decision.why, points, strict=True
            )
        ]

    async def _judge(
        self, subject: Subject, answer: str
    ) -> tuple[list[CriterionScore], dict[str, str], dict[str, str]]:
        """One call per criterion (its points) and per red flag (its claims), in order, so the prefix cache
        serves the answer; the same rules as the reader's turn the decisions into levels and flags."""
        assert self.llm is not None
        scores = []
        for c in subject.rubric.criteria:
            points, others = checklist.points_of(c)
            read = await judge_checklist(self.llm, self.settings, subject.question, answer, points, "points")
            lv = checklist.level(read, others)
            evidence = checklist.evidence_of(read) if lv else None
            scores.append(
                CriterionScore(
                    id=c.id,
                    score=lv,
                    evidence=evidence,
                    rationale=checklist.rationale(read),
                    points=checklist.results(read),
                )
            )
        flags: dict[str, str] = {}
        unclear: dict[str, str] = {}
        for f in subject.rubric.red_flags:
            claims = checklist.claims_of(f)
            read_claims = await judge_checklist(self.llm, self.settings, subject.question, answer, claims, "claims")
            outcome = checklist.flag_outcome(read_claims)
            if outcome is not None:
                (flags if outcome[0] == "raised" else unclear)[f.id] = outcome[1]
        flags, unclear = checklist.doubted(subject.rubric, [s.score for s in scores], flags, unclear)
        return scores, flags, unclear


S = TypeVar("S", Point, Claim)
_STATUS: dict[str, checklist.Status] = {"entails": "stated", "partial": "partly", "contradicts": "contradicted"}


async def judge_checklist(
    llm: LLM, settings: Settings, question: str, answer: str, statements: list[S], kind: str
) -> list[tuple[S, checklist.Reading]]:
    """The reader's questions about one checklist, asked of a model, each decision with a quote.

    The shared prefix (instructions, question, answer) is byte-identical across the calls for one
    answer; only the checklist asked about comes last, so the server's prefix cache serves the rest.
    A decision whose quote is not in the answer counts as not said: a model's unsupported credit or
    accusation is dropped.
    """
    d = settings.prompts_dir
    shared = render(d, "grade_user.jinja", question=question, answer=answer)
    system = {"role": "system", "content": render(d, "grade_system.jinja")}
    asked = render(d, "grade_checklist.jinja", statements=statements, kind=kind)
    schema = checklist_schema([s.id for s in statements])
    judged = await llm.astructured([system, {"role": "user", "content": shared + "\n\n" + asked}], schema)
    by_id = {j.id: j for j in judged.points}
    out = []
    for s in statements:
        j = by_id.get(s.id)
        quote = verify_quote(j.quote, answer) if j else None
        status = _STATUS.get(j.decision, "missing") if j else "missing"
        if status != "contradicted" and quote is None:
            status = "missing"
        sure = 1.0 if status == "stated" else 0.0
        out.append((s, checklist.Reading(status, quote, sure, sure, 1.0 if status == "contradicted" else 0.0)))
    return out
