"""A trap claim the grader read weakly becomes a question, and the candidate's reply settles it.

The grader reads a possible trap claim as `unclear` when a passage says it only in part. A real
interviewer asks rather than guesses: the next turn puts the flag's raising claim to the candidate,
neutrally, from a template (no model), and the reply decides: kept (the flag is raised in the report,
with its cap), dropped (the flag is cleared), or still unclear (it stays as it was).
"""

from __future__ import annotations

import re
from typing import Literal

from service.catalog import RedFlag, Rubric, Trap
from service.config import Settings
from service.grading import checklist
from service.grading.entailment import CONTRADICTS, ENTAILS, cross_encoder
from service.grading.models import Grade
from service.grading.scoring import rescored
from service.prompts import render

Outcome = Literal["kept", "dropped", "unclear"]

_DROPPED = re.compile(
    r"^\s*(no\b|nope\b|not really\b|not quite\b|actually,? no\b|on (second thought|reflection)\b|i was wrong\b)|"
    r"\b(i|we)('d| would| will)? (not|never|wouldn't|won't|drop|abandon|replace|change|avoid|reconsider)\b|"
    r"\b(wouldn't|would not|won't|will not|don't|do not) (keep|stand by|say|use|hold|do|rely)\b",
    re.IGNORECASE,
)
_KEPT = re.compile(
    r"^\s*(yes|yeah|yep|yup|correct|exactly|right|definitely|absolutely|sure|indeed|"
    r"i (would|do|will|'d)( keep| stand| say)?|i stand by|that's (right|correct|what i (said|meant)))\b",
    re.IGNORECASE,
)


def raising_claim(flag: RedFlag) -> str:
    """The claim that raises the flag, in the rubric's words."""
    return next(c.text for c in checklist.claims_of(flag) if c.raises)


def _as_clause(claim: str) -> str:
    text = claim.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    if first[1:].isalpha() and first[1:].islower():  # "Weighting ..." -> "weighting ...", "BF16", "ReLU" stay
        text = text[0].lower() + text[1:]
    return text


def question(settings: Settings, trap: Trap, flag_id: str, again: bool = False) -> str:
    """The turn that asks about a weakly read trap claim: neutral, and the claim as the rubric states it;
    `again`, when the candidate asked what was meant: the claim itself, for a yes or a no."""
    flag = next(f for f in trap.rubric.red_flags if f.id == flag_id)
    claim = raising_claim(flag)
    text = render(settings.prompts_dir, "check_claim.jinja", claim=_as_clause(claim), claim_sentence=claim, again=again)
    return text.strip()


def settle(claim: str, reply: str, flag_threshold: float) -> Outcome:
    """What the reply says about the claim: a plain yes or no first (a predictable rule, as moves.py
    reads moves), else the grader's reader on (claim, reply)."""
    text = reply.strip()
    if _DROPPED.search(text):
        return "dropped"
    if _KEPT.match(text):
        return "kept"
    p = cross_encoder().probabilities([(claim, text)])[0]
    if p[ENTAILS] >= flag_threshold and p[ENTAILS] > p[CONTRADICTS]:
        return "kept"
    if p[CONTRADICTS] >= 0.5:
        return "dropped"
    return "unclear"


def settle_reply(trap: Trap, flag_id: str, reply: str) -> Outcome:
    flag = next(f for f in trap.rubric.red_flags if f.id == flag_id)
    return settle(raising_claim(flag), reply, checklist.reader_thresholds().flag)


def apply(grade: Grade, rubric: Rubric, checks: list[dict[str, str]]) -> Grade:
    """The grade once the candidate's answers to the check questions are in: a kept claim raises its flag
    (its cap applies, the candidate's passage its evidence); a dropped one clears it, unclear or raised,
    since the candidate's own answer to the question outweighs any reading of the earlier hedge."""
    flags = dict(grade.flag_evidence)
    unclear = dict(grade.unclear_flags)
    for check in checks:
        outcome = check.get("outcome")
        if outcome == "kept":
            flags.setdefault(check["flag"], check["passage"])
            unclear.pop(check["flag"], None)
        elif outcome == "dropped":
            unclear.pop(check["flag"], None)
            flags.pop(check["flag"], None)
    if flags == grade.flag_evidence and unclear == grade.unclear_flags:
        return grade
    return rescored(grade, rubric, flag_evidence=flags, unclear_flags=unclear)
