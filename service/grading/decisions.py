"""The entailment stage's rule: the bi-encoder picks candidate passages, the cross-encoder decides.

For each criterion the few answer units closest to it (by cosine, already computed as evidence)
are paired with the criterion's claim; for each red flag, with the flag's statement. A criterion is
full when some candidate entails its claim, partial when one entails part of it, zero otherwise. A
red flag is raised only when a candidate entails its statement: a passage that names the trap to
reject it contradicts the statement and raises nothing (the cross-encoder reads "The obvious fix is X.
It fails because..." as asserting X, so a passage that sets a view up to knock it down has its reading
of a red flag turned around: one cue-word feature beside the model). The evidence is the passage judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel

from service.grading import semantic
from service.grading.entailment import CONTRADICTS, ENTAILS, LABELS, PARTIAL, Entailer, cross_encoder
from service.grading.subject import Subject


class EntailmentThresholds(BaseModel):
    """Probability thresholds over the best candidate; fitted by `interviewer eval calibrate`."""

    candidates: int = 3  # units per criterion or flag sent to the cross-encoder
    full: float = 0.5  # P(entails)
    partial: float = 0.5  # P(entails) + P(partial)
    flag: float = 0.5  # P(entails) of a red flag's statement


@lru_cache(maxsize=2)
def thresholds(kind: Literal["trap", "reference"] = "trap") -> EntailmentThresholds:
    """Fitted per kind of subject, as the similarity thresholds are: trap rubrics on the gold set,
    reference claims on SemEval fold 0."""
    return semantic.calibrated("entailment" if kind == "trap" else "reference_entailment", EntailmentThresholds)


def thresholds_for(subject: Subject) -> EntailmentThresholds:
    return thresholds("trap" if subject.trap_id else "reference")


Candidates = list[tuple[int, np.ndarray]]  # (unit index, probabilities over LABELS), closest unit first


@dataclass
class Judged:
    """The cross-encoder's reading of every candidate pair of one answer."""

    criteria: list[Candidates]
    flags: list[Candidates]


def _closest(column: np.ndarray, k: int) -> list[int]:
    """The k units closest to one target, skipping units that restate the question (cosine -1)."""
    order = np.argsort(-column, kind="stable")[:k]
    return [int(j) for j in order if column[j] > -1.0]


def _read(entailer: Entailer, targets: list[tuple[str, list[int]]], units: list[str]) -> list[Candidates]:
    """One model pass over the distinct (statement, unit) pairs; per target, its units' readings."""
    pairs = list(dict.fromkeys((statement, units[j]) for statement, js in targets for j in js))
    probs = entailer.probabilities(pairs) if pairs else np.zeros((0, len(LABELS)))
    row = {pair: probs[n] for n, pair in enumerate(pairs)}
    return [[(j, row[(statement, units[j])]) for j in js] for statement, js in targets]


# A passage that sets a view out in order to knock it down: framed as what one would say ("The obvious
# fix is to...", "It is tempting to..."), then turned ("..., but") or rejected at the start of the next.
_SETS_UP = re.compile(
    r"\b(the (obvious|easy|comfortable|tempting|naive|natural|usual|common|standard|textbook|intuitive|first|quick) "
    r"(move|answer|read|reading|fix|reaction|instinct|story|explanation|conclusion|take|assumption|response|diagnosis|"
    r"plan)|(it is|it's) tempting to|one might (say|think|argue)|many (would|people) (say|think)|the trap (is|here))\b",
    re.IGNORECASE,
)
_TURNS = re.compile(r"[,;:]\s*(but|however|yet)\b|\s(but|however)\s", re.IGNORECASE)
_REJECTS = re.compile(
    r"\b(fails?|wrong|not|never|no|misses|myth|backwards|mistaken?|false|untrue|neither|\w+n't|only holds|skips?|"
    r"ignores?|overlooks?|falls apart|breaks down|half (right|true|the story)|too simple)\b",
    re.IGNORECASE,
)


def sets_up_to_reject(units: list[str], j: int) -> bool:
    """Whether unit j states a view only to reject it: the cross-encoder reads such a passage as asserting
    the view, as it would a quotation, so its reading of a red flag is turned around."""
    m = _SETS_UP.search(units[j])
    if not m:
        return False
    if _TURNS.search(units[j][m.end() :]):  # "..., but": a view set out is turned in the same breath
        return True
    following = " ".join(units[j + 1].split()[:8]) if j + 1 < len(units) else ""
    return bool(_REJECTS.search(following))


def _as_rejections(read: list[Candidates], units: list[str]) -> list[Candidates]:
    """Red-flag readings with each set-up passage's assertion counted as the rejection it is."""
    swap = [ENTAILS, CONTRADICTS]
    out = []
    for cands in read:
        turned = []
        for j, p in cands:
            if sets_up_to_reject(units, j):
                p = p.copy()
                p[swap] = p[swap[::-1]]
            turned.append((j, p))
        out.append(turned)
    return out


def judge(subject: Subject, ev: semantic.Evidence, entailer: Entailer, k: int) -> Judged:
    """The k closest units of every criterion and red flag, read by the cross-encoder."""
    crit = [
        (c.claim, _closest(ev.unit_criterion[:, i], k) if ev.unit_criterion.size else [])
        for i, c in enumerate(subject.rubric.criteria)
    ]
    flags = [
        (f.statement, _closest(ev.unit_flag[:, i], k) if ev.unit_flag.size else [])
        for i, f in enumerate(subject.rubric.red_flags)
    ]
    read = _read(entailer, crit + flags, ev.units)
    return Judged(read[: len(crit)], _as_rejections(read[len(crit) :], ev.units))


def _level(cands: Candidates, th: EntailmentThresholds) -> tuple[int, int | None, str]:
    """Level, the unit that earned it, and why, in words."""
    if not cands:
        return 0, None, "no passage of the answer bears on this point"
    j_full, p_full = max(cands, key=lambda c: c[1][ENTAILS])
    if p_full[ENTAILS] >= th.full:
        return 2, j_full, f"this passage entails the point (p {p_full[ENTAILS]:.2f}; full at {th.full:.2f})"
    j_part, p_part = max(cands, key=lambda c: c[1][ENTAILS] + c[1][PARTIAL])
    some = p_part[ENTAILS] + p_part[PARTIAL]
    if some >= th.partial:
        return 1, j_part, f"this passage states part of the point (p {some:.2f}; partial at {th.partial:.2f})"
    _, p_near = cands[0]
    reading = LABELS[int(p_near.argmax())]
    said = "contradicts it" if reading == "contradicts" else "does not state it"
    return 0, None, f"no passage supports it: the closest {said} (p {float(p_near.max()):.2f})"


def _flag(cands: Candidates, th: EntailmentThresholds) -> int | None:
    """The unit that asserts the flag's statement, or None. The answer's stance is its strongest
    reading: a passage that rejects the trap outweighs a weaker one that seems to assert it."""
    if not cands:
        return None
    j, p = max(cands, key=lambda c: c[1][ENTAILS])
    against = max(c[1][CONTRADICTS] for c in cands)
    return j if p[ENTAILS] >= th.flag and p[ENTAILS] > against else None


def decide(
    subject: Subject, ev: semantic.Evidence, judged: Judged, th: semantic.Thresholds, et: EntailmentThresholds
) -> semantic.Decision:
    levels, evidence, why = [], [], []
    for cands in judged.criteria:
        lv, j, text = _level(cands[: et.candidates], et)
        levels.append(lv)
        evidence.append(ev.units[j] if j is not None else None)
        why.append(text)
    flag_evidence = {}
    for f, cands in zip(subject.rubric.red_flags, judged.flags, strict=True):
        j = _flag(cands[: et.candidates], et)
        if j is not None:
            flag_evidence[f.id] = ev.units[j]
    return semantic.Decision(levels, list(flag_evidence), semantic.guard(ev, th), evidence, why, flag_evidence)


def entailment_decision(subject: Subject, ev: semantic.Evidence, th: semantic.Thresholds) -> semantic.Decision:
    """The shipped cross-encoder with the fitted thresholds: what the grader and the interviewer use."""
    et = thresholds_for(subject)
    return decide(subject, ev, judge(subject, ev, cross_encoder(), et.candidates), th, et)


class VetoThresholds(BaseModel):
    """The hybrid rule's two numbers; fitted by `interviewer eval calibrate` on the odd-numbered traps."""

    candidates: int = 2  # passages per raised flag the cross-encoder reads
    veto: float = 0.5  # P(contradicts) at which a passage's rejection of the trap cancels the flag


@lru_cache(maxsize=1)
def veto_thresholds() -> VetoThresholds:
    return semantic.calibrated("hybrid", VetoThresholds)


def flag_candidates(
    subject: Subject, ev: semantic.Evidence, flags: list[str], entailer: Entailer, k: int
) -> dict[str, Candidates]:
    """The cross-encoder's reading of the k passages closest to each raised flag."""
    ids = [f.id for f in subject.rubric.red_flags]
    statements = {f.id: f.statement for f in subject.rubric.red_flags}
    targets = [(statements[f], _closest(ev.unit_flag[:, ids.index(f)], k) if ev.unit_flag.size else []) for f in flags]
    return dict(zip(flags, _as_rejections(_read(entailer, targets, ev.units), ev.units), strict=True))


def veto(decision: semantic.Decision, read: dict[str, Candidates], vt: VetoThresholds) -> semantic.Decision:
    """The similarity rule's decision, less each red flag that a candidate passage rejects: one read
    as contradicting the flag (at least `veto`, and more than any reads it as asserting it)."""
    kept = []
    for f in decision.flags:
        cands = read.get(f, [])[: vt.candidates]
        against = max((float(p[CONTRADICTS]) for _, p in cands), default=0.0)
        pro = max((float(p[ENTAILS]) for _, p in cands), default=0.0)
        if not (against >= vt.veto and against > pro):
            kept.append(f)
    evidence = {f: decision.flag_evidence[f] for f in kept}
    return semantic.Decision(decision.levels, kept, decision.guard, decision.evidence, decision.why, evidence)


def hybrid_decision(subject: Subject, ev: semantic.Evidence, th: semantic.Thresholds) -> semantic.Decision:
    """What the grader uses by default, because it measures best on the held-out traps (docs/grading.md):
    similarity sets the levels and proposes red flags; the cross-encoder cancels the flags an answer rejects."""
    vt = veto_thresholds()
    decision = semantic.decide(subject, ev, th)
    return veto(decision, flag_candidates(subject, ev, decision.flags, cross_encoder(), vt.candidates), vt)
