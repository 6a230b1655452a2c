"""The checklist decision: the reader decides every rubric point and every red-flag claim.

1. Candidates (cheap): for each point and claim, the bi-encoder picks the answer passages closest to
   it, generously, and the whole answer when it is short. Cosine never sets a level.
2. Decisions: the reader reads each (statement, passage) pair: entails, partly, contradicts, neither.
3. Levels in code: full = the core plus at least `full_others` other points stated (the core may be
   said only in part when the others are there); partial = the core, or any one other point, stated
   (or the core said in part); none otherwise. A flag is raised when every claim marked `raises` is
   read as asserted with the confidence fitted on training writers and no passage rejects it more
   strongly; read more weakly than that, or in an answer whose points alone pass (`doubted`), it is
   `unclear` and caps nothing.

A criterion with no points (a rubric derived from a reference answer) is one core point, its claim;
a red flag with no claims is one raising claim, its statement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel

from service.catalog import Claim, Criterion, Point, RedFlag, Rubric
from service.embeddings import embed
from service.grading import semantic
from service.grading.entailment import CONTRADICTS, ENTAILS, MODEL_DIR, PARTIAL, Entailer, cross_encoder
from service.grading.models import PointResult
from service.grading.subject import Subject

Status = Literal["stated", "partly", "contradicted", "missing"]
WEAK = 0.5  # P(entails) + P(partial) at which a statement counts as said in part: the reader's own midpoint


class ReaderThresholds(BaseModel):
    """Fitted on the seen writers' validation passages when the reader is trained (its card.json)."""

    # Passages per statement the reader reads; a short answer whole is one of them. On seen traps' gold
    # answers three put 0.769 in band against 0.738 with two (four: 0.772, reading a third more pairs).
    candidates: int = 3
    point: float = 0.5  # P(entails) at which a point is stated
    flag: float = 0.8  # P(entails) at which a trap claim is asserted


@lru_cache(maxsize=1)
def reader_thresholds() -> ReaderThresholds:
    card = MODEL_DIR / "card.json"
    fitted = json.loads(card.read_text()).get("thresholds", {}) if card.exists() else {}
    return ReaderThresholds(**fitted)


def points_of(criterion: Criterion) -> tuple[list[Point], int]:
    """The criterion's points and how many others full credit needs; its claim alone when it has none."""
    if criterion.points:
        return list(criterion.points), criterion.full_others
    return [Point(id="claim", text=criterion.claim, core=True)], 0


def claims_of(flag: RedFlag) -> list[Claim]:
    return list(flag.claims) or [Claim(id="statement", text=flag.statement, raises=True)]


@dataclass
class Reading:
    """The reader's verdict on one statement over its candidate passages."""

    status: Status
    passage: str | None  # the passage that decided it (None when nothing bears on it)
    p_entails: float
    p_some: float  # P(entails) + P(partial), at its best passage
    p_against: float  # P(contradicts), at its best passage


@dataclass
class Checklist:
    """Per criterion, each point's reading; per red flag, each claim's; and what follows from them."""

    points: list[list[tuple[Point, Reading]]]
    claims: list[list[tuple[Claim, Reading]]]
    levels: list[int] = field(default_factory=list)
    raised: dict[str, str] = field(default_factory=dict)  # flag id -> the passage that asserts it
    unclear: dict[str, str] = field(default_factory=dict)  # flag id -> the passage read weakly as it


def _candidates(unit_vecs: np.ndarray, statement_vecs: np.ndarray, k: int) -> list[list[int]]:
    """The k units closest to each statement."""
    if not len(unit_vecs):
        return [[] for _ in range(len(statement_vecs))]
    return [[int(j) for j in np.argsort(-row, kind="stable")[:k]] for row in statement_vecs @ unit_vecs.T]


def _reading(probs: list[np.ndarray], passages: list[str], th: float, *, any_passage_rejects: bool) -> Reading:
    """A passage states a point when it reads it as entailed, surely enough and more than as contradicted;
    another passage read as rejecting the point (often one that names a different detail of the
    topic) does not take that credit away. A trap claim is different (`any_passage_rejects`): it counts
    as asserted only when no passage rejects it more strongly, since a set-up knocked down in the next
    sentence is no assertion, and an accusation needs more than credit does."""
    if not probs:
        return Reading("missing", None, 0.0, 0.0, 0.0)
    p = np.stack(probs)
    entails, some, against = p[:, ENTAILS], p[:, ENTAILS] + p[:, PARTIAL], p[:, CONTRADICTS]
    bar = against.max() if any_passage_rejects else against
    maxima = float(entails.max()), float(some.max()), float(against.max())
    if (stated := np.flatnonzero((entails >= th) & (entails > bar))).size:
        return Reading("stated", passages[stated[entails[stated].argmax()]], *maxima)
    if (partly := np.flatnonzero((some >= WEAK) & (some > bar))).size:
        return Reading("partly", passages[partly[some[partly].argmax()]], *maxima)
    if maxima[2] >= WEAK:
        return Reading("contradicted", passages[int(against.argmax())], *maxima)
    return Reading("missing", None, *maxima)


def statements(rubric: Rubric) -> tuple[list[tuple[list[Point], int]], list[list[Claim]]]:
    """Each criterion's points (and how many others full credit needs), each flag's raising claims: what
    the reader reads. The other claims describe the trap for people."""
    return [points_of(c) for c in rubric.criteria], [[c for c in claims_of(f) if c.raises] for f in rubric.red_flags]


def statement_vectors(rubric: Rubric) -> np.ndarray:
    """The statements' vectors, in reading order (memoised by the embedder: warmed with the cards)."""
    crit_points, flag_claims = statements(rubric)
    return embed([p.text for pts, _ in crit_points for p in pts] + [c.text for cls in flag_claims for c in cls])


def read(subject: Subject, ev: semantic.Evidence, entailer: Entailer, th: ReaderThresholds) -> Checklist:
    """Every point and claim of the rubric read against its candidate passages, in one reader pass."""
    rubric = subject.rubric
    crit_points, flag_claims = statements(rubric)
    texts = [p.text for pts, _ in crit_points for p in pts] + [c.text for cls in flag_claims for c in cls]
    units = ev.units  # sentences, adjacent pairs, a short answer whole: as analyse made them
    whole = ev.whole  # a short answer whole is a candidate for every statement, in place of the farthest
    k = th.candidates - (whole is not None)
    cands = _candidates(ev.unit_vectors, statement_vectors(rubric), k) if texts and units else [[] for _ in texts]
    pairs: dict[tuple[str, str], int] = {}
    per_statement: list[list[int]] = []
    for text, js in zip(texts, cands, strict=True):
        if whole is not None and whole not in js:
            js = [*js, whole]
        per_statement.append(js)
        for j in js:
            pairs.setdefault((text, units[j]), len(pairs))
    probs = entailer.probabilities(list(pairs)) if pairs else np.zeros((0, 4))

    def reading(i: int, threshold: float, claim: bool = False) -> Reading:
        js = per_statement[i]
        got = [probs[pairs[(texts[i], units[j])]] for j in js]
        return _reading(got, [units[j] for j in js], threshold, any_passage_rejects=claim)

    i = 0
    points: list[list[tuple[Point, Reading]]] = []
    for pts, _ in crit_points:
        points.append([(p, reading(i + n, th.point)) for n, p in enumerate(pts)])
        i += len(pts)
    claims: list[list[tuple[Claim, Reading]]] = []
    for cls in flag_claims:
        claims.append([(c, reading(i + n, th.flag, claim=True)) for n, c in enumerate(cls)])
        i += len(cls)
    out = Checklist(points, claims)
    out.levels = [level(read_points, others) for read_points, (_, others) in zip(points, crit_points, strict=True)]
    for flag, read_claims in zip(rubric.red_flags, claims, strict=True):
        outcome = flag_outcome(read_claims)
        if outcome is not None:
            (out.raised if outcome[0] == "raised" else out.unclear)[flag.id] = outcome[1]
    out.raised, out.unclear = doubted(rubric, out.levels, out.raised, out.unclear)
    return out


def doubted(
    rubric: Rubric, levels: list[int], raised: dict[str, str], unclear: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Raised traps become unclear (asked about, capping nothing) in an answer whose points alone reach the
    pass mark. Such an answer states the mechanisms that refute the trap, so a passage read as asserting
    it is far more often the trap named to be knocked down: on the seen traps' gold answers, seven such
    readings in eight were of answers that reject the trap."""
    if raised and sum(c.weight * lv / 2 for c, lv in zip(rubric.criteria, levels, strict=True)) >= rubric.pass_mark:
        return {}, unclear | raised
    return raised, unclear


def flag_outcome(read_claims: list[tuple[Claim, Reading]]) -> tuple[Literal["raised", "unclear"], str] | None:
    """Raised, with the passage, when every raising claim is stated; unclear when each is at least said
    in part (one of them only in part); None when any raising claim is rejected or not said."""
    raising = [r for c, r in read_claims if c.raises]
    if all(r.status == "stated" for r in raising):
        return "raised", raising[0].passage or ""
    if all(r.status in ("stated", "partly") for r in raising):
        return "unclear", next(r.passage for r in raising if r.status == "partly") or ""
    return None


def level(read_points: list[tuple[Point, Reading]], full_others: int) -> int:
    """Full: the core plus at least full_others others stated, or the core said in part with at least that
    many others (and one) stated: a core often sums up what several sentences say, which no passage of
    one or two sentences entails. Partial: the core or any one other point stated, or the core said in
    part. None otherwise."""
    core = next((r.status for p, r in read_points if p.core), None)
    others = sum(r.status == "stated" for p, r in read_points if not p.core)
    if (core == "stated" and others >= full_others) or (core == "partly" and others >= max(full_others, 1)):
        return 2
    return 1 if core in ("stated", "partly") or others else 0


def evidence_of(read_points: list[tuple[Point, Reading]]) -> str | None:
    """The passage a criterion's credit rests on: the core's if stated, else another stated point's, else
    one said in part."""
    stated = [r.passage for p, r in sorted(read_points, key=lambda pr: not pr[0].core) if r.status == "stated"]
    partly = [r.passage for _, r in read_points if r.status == "partly"]
    return (stated or partly or [None])[0]


def results(read_points: list[tuple[Point, Reading]]) -> list[PointResult]:
    return [
        PointResult(
            id=p.id,
            text=p.text,
            core=p.core,
            status=r.status,
            evidence=r.passage if r.status in ("stated", "partly") else None,
            confidence=round(r.p_entails, 3),
        )
        for p, r in read_points
    ]


def rationale(read_points: list[tuple[Point, Reading]]) -> str:
    """In the points' own words: what was found (with the words that said it), what only in part, what not."""
    found = [f"{p.text} (“{r.passage}”)" for p, r in read_points if r.status == "stated"]
    part = [f"{p.text} (in part: “{r.passage}”)" for p, r in read_points if r.status == "partly"]
    against = [p.text for p, r in read_points if r.status == "contradicted"]
    missing = [p.text for p, r in read_points if r.status == "missing"]
    parts = []
    if found:
        parts.append("Found: " + " ".join(found))
    if part:
        parts.append("Said in part: " + " ".join(part))
    if against:
        parts.append("The answer says otherwise: " + " ".join(against))
    if missing:
        parts.append("Missing: " + " ".join(missing))
    return " ".join(parts)


def checklist_decision(subject: Subject, ev: semantic.Evidence, th: semantic.Thresholds) -> semantic.Decision:
    """The checklist decision stage: the shipped reader over the rubric's points and claims."""
    guard = semantic.guard(ev, th)
    final = ev.wordiness < th.min_wordiness or not ev.novel_units  # mostly not words, or only the question
    if final:
        # Nothing is read, as in LLM mode. The reader was never trained on strings of letters, and it reads
        # some of them as stating a point (measured: 0.96).
        ev = replace(ev, units=[], whole=None, unit_vectors=np.zeros((0, 0)))
    checklist = read(subject, ev, cross_encoder(), reader_thresholds())
    evidence: list[str | None] = []
    for read_points, lv in zip(checklist.points, checklist.levels, strict=True):
        evidence.append(evidence_of(read_points) if lv else None)
    if guard and not final and any(checklist.levels):
        guard = None  # "says too little" is a similarity guess; any credit the reader gives outweighs it
    return semantic.Decision(
        checklist.levels,
        list(checklist.raised),
        guard,
        evidence,
        [rationale(rp) for rp in checklist.points],
        checklist.raised,
        points=[results(rp) for rp in checklist.points],
        unclear=checklist.unclear,
    )
