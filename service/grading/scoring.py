"""Scores, caps and verdicts are computed here from criterion levels: never asked of a model."""

from __future__ import annotations

import re
from typing import Any

from service.catalog import Rubric
from service.grading.models import CriterionScore, Grade, Verdict

STRONG_MARK = 85
BORDERLINE_MARGIN = 15
HINT_PENALTY = 5  # points per hint taken in an interview


def after_hints(score: int, hints: int) -> tuple[int, int]:
    """The interview's score once its hints are paid for, and what they cost."""
    penalty = HINT_PENALTY * hints
    return max(0, score - penalty), penalty


def weighted_score(rubric: Rubric, scores: list[CriterionScore]) -> float:
    by_id = {s.id: s for s in scores}
    return sum(c.weight * (by_id[c.id].score / by_id[c.id].max if c.id in by_id else 0) for c in rubric.criteria)


def final_score(rubric: Rubric, scores: list[CriterionScore], red_flags: list[str]) -> int:
    """Weighted criterion credit, then the lowest cap of any red flag raised."""
    score = weighted_score(rubric, scores)
    caps = [f.cap for f in rubric.red_flags if f.id in red_flags]
    if caps:
        score = min(score, min(caps))
    return round(score)


def guarded(score: int, guard: str | None, guard_cap: int, pass_mark: int) -> int:
    """An answer a guard stopped cannot pass, whatever else said it should."""
    return min(score, guard_cap, max(pass_mark - 1, 0)) if guard else score


def rescored(grade: Grade, rubric: Rubric, **update: Any) -> Grade:
    """The grade with some of its decisions changed (criteria, flag_evidence, unclear_flags, amendments):
    the score, verdict and flags follow from them by the same rules as when it was graded."""
    from service.grading.semantic import thresholds

    new = grade.model_copy(update=update)
    flags = list(new.flag_evidence)
    cap = thresholds("trap").guard_cap
    score = guarded(final_score(rubric, new.criteria, flags), new.guard, cap, rubric.pass_mark)
    return new.model_copy(
        update={
            "score": score,
            "verdict": verdict(score, rubric.pass_mark),
            "fell_into_trap": bool(flags),
            "red_flags": list(flags),
        }
    )


def verdict(score: int, pass_mark: int) -> Verdict:
    if score >= max(STRONG_MARK, pass_mark):
        return "strong"
    if score >= pass_mark:
        return "pass"
    if score >= pass_mark - BORDERLINE_MARGIN:
        return "borderline"
    return "fail"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _strip_quotes(text: str) -> str:
    return text.strip().strip("\"'“”‘’ ").rstrip(".…").strip()


def verify_quote(quote: str | None, answer: str) -> str | None:
    """The quote as it stands in the answer (case and spacing normalised), or None if it is not there."""
    if not quote:
        return None
    q = _norm(_strip_quotes(quote))
    if len(q) < 4:
        return None
    hay = _norm(answer)
    pos = hay.find(q)
    if pos < 0:
        return None
    # Map back to the original text so the evidence shown is the candidate's own words.
    pattern = r"\s+".join(re.escape(w) for w in _strip_quotes(quote).split())
    m = re.search(pattern, answer, flags=re.IGNORECASE)
    return m.group(0) if m else _strip_quotes(quote)
