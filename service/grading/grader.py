"""The grader behind every score: LLM judge or semantic evidence, with verified quotes and guards."""

from __future__ import annotations

import asyncio
import logging

from service.config import Settings
from service.embeddings import MODEL_NAME
from service.errors import InvalidInputError, TooLargeError
from service.grading import semantic
from service.grading.cache import GradeCache, cache_key
from service.grading.models import CriterionJudgement, CriterionScore, FlagJudgement, Grade, GraderInfo, Mode
from service.grading.scoring import LEVEL_POINTS, final_score, guarded, verdict, verify_quote
from service.grading.subject import Subject
from service.llm.client import LLM
from service.prompts import prompt_hash, render

log = logging.getLogger(__name__)
# 1.1: reference claims also count the claim's own words; 1.2: red flags carry a quote, and the trap's
# sentences count as on topic
GRADER_VERSION = "1.2"
PROMPTS = ("grade_system.jinja", "grade_user.jinja", "grade_criterion.jinja", "grade_flag.jinja")


def check_answer(answer: str, max_chars: int) -> str:
    """The answer to grade, or a clear error for one that cannot be graded."""
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidInputError("the answer is empty: there is nothing to grade")
    if len(answer) > max_chars:
        raise TooLargeError(f"the answer is {len(answer):,} characters; the limit is {max_chars:,}")
    return answer


def _unit_quote(unit: str, answer: str) -> str:
    """A semantic unit as the candidate wrote it (their spacing and case); units are drawn from the answer."""
    return verify_quote(unit, answer) or unit


def _feedback(subject: Subject, scores: list[CriterionScore], flags: list[str], guard: str | None) -> str:
    names = {c.id: c.description for c in subject.rubric.criteria}
    got = [s.id for s in scores if s.score == 2]
    missing = [names[s.id] for s in scores if s.score == 0]
    parts = []
    if guard:
        parts.append(f"This answer cannot pass: {guard}.")
    if flags:
        statements = {f.id: f.statement for f in subject.rubric.red_flags}
        parts.append("It falls into the trap: " + "; ".join(statements[f] for f in flags))
    if got:
        parts.append(f"Covered well: {', '.join(got)}.")
    if missing:
        parts.append("Missing: " + " ".join(m.rstrip(".") + "." for m in missing[:3]))
    return " ".join(parts) or "Partly covered; add the mechanisms and numbers."


class Grader:
    """Grades answers against a Subject; built by `make_grader` only."""

    def __init__(self, *, settings: Settings, mode: Mode, llm: LLM | None, cache: GradeCache | None) -> None:
        if mode == "llm" and llm is None:
            raise ValueError("llm mode needs an LLM")
        self.settings = settings
        self.mode = mode
        self.llm = llm
        self.cache = cache
        self.prompt_hash = prompt_hash(settings.prompts_dir, *PROMPTS) if mode == "llm" else "semantic"

    @property
    def info(self) -> GraderInfo:
        model = self.llm.model_name if self.llm else MODEL_NAME
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
    ) -> Grade:
        """flags: each red flag raised, with the quote that raised it."""
        score = guarded(final_score(subject.rubric, scores, list(flags)), guard, th.guard_cap, subject.rubric.pass_mark)
        grade = Grade(
            trap_id=subject.trap_id,
            score=score,
            verdict=verdict(score, subject.rubric.pass_mark),
            fell_into_trap=bool(flags),
            criteria=scores,
            red_flags=list(flags),
            flag_evidence=flags,
            feedback=_feedback(subject, scores, list(flags), guard),
            grader=self.info,
            guard=guard,
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
        decision = semantic.decide(subject, ev, th)
        if self.mode == "llm" and decision.guard is None:
            return key, th, decision.guard
        # Semantic mode, or an answer no model should be asked about.
        scores = self._semantic(subject, answer, ev, decision, th)
        return self._finish(key, subject, scores, self._flag_quotes(subject, answer, ev, decision), decision.guard, th)

    async def agrade(self, subject: Subject, answer: str) -> Grade:
        first = await asyncio.to_thread(self._grade_from_evidence, subject, answer)
        if isinstance(first, Grade):
            return first
        key, th, guard = first
        scores, flags = await self._judge(subject, answer)
        return self._finish(key, subject, scores, flags, guard, th)

    def grade(self, subject: Subject, answer: str) -> Grade:
        """Sync grading, for scripts and tests outside any event loop."""
        return asyncio.run(self.agrade(subject, answer))

    def _semantic(
        self,
        subject: Subject,
        answer: str,
        ev: semantic.Evidence,
        decision: semantic.Decision,
        th: semantic.Thresholds,
    ) -> list[CriterionScore]:
        scores = []
        rel = semantic.criterion_scores(ev, th)
        for c, sim, r, unit, lv, words in zip(
            subject.rubric.criteria,
            ev.criterion_sim,
            rel,
            ev.criterion_unit,
            decision.levels,
            ev.criterion_words,
            strict=True,
        ):
            if th.floor_weight is None and th.word_weight:
                why = (
                    f"closest sentence matches this criterion at cosine {sim:.2f}, and the answer uses {words:.0%} "
                    f"of the claim's own words (not the question's): {sim:.2f} + {th.word_weight:g} x {words:.2f} "
                    f"= {r:.2f}"
                )
            elif th.floor_weight is None:
                why = f"closest sentence matches this criterion at cosine {sim:.2f}"
            else:
                why = (
                    f"closest sentence matches this criterion at cosine {sim:.2f}, {r:.2f} on the card's scale "
                    f"(0 = {th.floor_weight:g} x the trap's wording, 1 = the model answer)"
                )
            scores.append(
                CriterionScore(
                    id=c.id,
                    score=lv,
                    evidence=_unit_quote(unit, answer) if lv and unit else None,
                    rationale=f"{why}; full at {th.full:.2f}, partial at {th.partial:.2f}",
                )
            )
        return scores

    @staticmethod
    def _flag_quotes(
        subject: Subject, answer: str, ev: semantic.Evidence, decision: semantic.Decision
    ) -> dict[str, str]:
        """The sentence (or pair) closest to each raised flag: what the similarity was measured on."""
        units = {f.id: unit for f, unit in zip(subject.rubric.red_flags, ev.flag_unit, strict=True)}
        return {f: _unit_quote(units[f] or "", answer) for f in decision.flags}

    async def _judge(self, subject: Subject, answer: str) -> tuple[list[CriterionScore], dict[str, str]]:
        """One call per rubric point and per red flag, in order, so the prefix cache serves the answer.

        The shared prefix (instructions, question, answer) is identical across the calls for one
        answer; only the point asked about changes at the end.
        """
        assert self.llm is not None
        d = self.settings.prompts_dir
        system = {"role": "system", "content": render(d, "grade_system.jinja")}
        shared = render(d, "grade_user.jinja", question=subject.question, answer=answer)

        def ask(template: str, **values: object) -> list[dict[str, str]]:
            return [system, {"role": "user", "content": shared + "\n\n" + render(d, template, **values)}]

        scores = []
        for c in subject.rubric.criteria:
            j = await self.llm.astructured(ask("grade_criterion.jinja", criterion=c), CriterionJudgement)
            points = LEVEL_POINTS[j.level]
            quote = verify_quote(j.quote, answer)
            rationale = j.reasoning
            if points and quote is None:
                rationale += " [No credit: the quoted evidence is not in the answer.]"
                points = 0
            scores.append(
                CriterionScore(id=c.id, score=points, evidence=quote if points else None, rationale=rationale)
            )
        flags = {}
        for f in subject.rubric.red_flags:
            h = await self.llm.astructured(ask("grade_flag.jinja", flag=f), FlagJudgement)
            # A red flag needs its own verified quote: a small model's unsupported accusation is dropped.
            if h.asserts and (quote := verify_quote(h.quote, answer)):
                flags[f.id] = quote
        return scores, flags
