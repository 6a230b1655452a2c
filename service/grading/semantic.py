"""Semantic evidence with sentence embeddings: which answer sentences support which criterion.

It guards LLM scores (empty, gibberish, off-topic and restated-question answers cannot pass) and
is a complete no-LLM grading mode. Thresholds come from calibration.json, fitted on the gold set
by `interviewer eval calibrate`, not guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from pydantic import BaseModel

from service.embeddings import embed
from service.grading.models import PointResult
from service.grading.subject import Subject
from service.grading.text import content_words, sentences, wordiness

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
M = TypeVar("M", bound=BaseModel)
WHOLE_ANSWER_WORDS = 80


class Thresholds(BaseModel):
    """Cosine thresholds for the MiniLM embedder; see calibration.json for the fitted values."""

    full: float = 0.62
    partial: float = 0.48
    flag: float = 0.62
    flag_margin: float = 0.0
    relevant: float = 0.35
    restate: float = 0.85
    min_wordiness: float = 0.5
    guard_cap: int = 20
    # Levels compare a criterion's cosine with what the card's own texts reach on it: the model answer
    # is the ceiling, floor_weight x the trap's wording the floor. None compares raw cosines.
    floor_weight: float | None = None
    # Reference claims: the share of a claim's own content words (those the question does not already
    # use) that the answer uses, times this, is added to the cosine. Short answers that reuse the
    # question's words sit close to the reference in embedding space whether right or wrong.
    word_weight: float = 0.0


def calibrated(key: str, model: type[M]) -> M:
    """One section of calibration.json, or the model's defaults where nothing has been fitted yet."""
    if CALIBRATION_PATH.exists():
        data = json.loads(CALIBRATION_PATH.read_text())
        if key in data:
            return model.model_validate(data[key])
    return model()


@lru_cache(maxsize=2)
def thresholds(kind: Literal["trap", "reference"] = "trap") -> Thresholds:
    """Fitted thresholds: trap rubrics and reference-answer claims behave differently, so each has its own."""
    return calibrated("thresholds" if kind == "trap" else "reference_thresholds", Thresholds)


def thresholds_for(subject: Subject) -> Thresholds:
    return thresholds("trap" if subject.trap_id else "reference")


@dataclass(frozen=True)
class Targets:
    """The card side of a subject: its texts' vectors, and what its model answer and trap reach."""

    criteria: list[np.ndarray]  # one matrix of target texts per criterion
    flags: np.ndarray
    topic: np.ndarray  # correct-answer sentences, question, trap: what "on topic" means
    question: np.ndarray
    ceiling: np.ndarray  # per criterion: the model answer's best cosine
    floor: np.ndarray  # per criterion: the trap's best cosine (0 when the subject has no trap text)


def targets(subject: Subject) -> Targets:
    """Assembled afresh each time from the embedder's memo: a millisecond, and nothing to invalidate."""
    r = subject.rubric
    crit_texts = [[cr.description, cr.anchor, cr.levels.full] for cr in r.criteria]
    flat = [t for group in crit_texts for t in group]
    flag_texts = [f.statement for f in r.red_flags] or ["(no red flags)"]
    # The trap whole and sentence by sentence: a short answer that commits the trap is on the topic,
    # however wrong (as one text, the trap paragraph sits far from any one-line claim in it).
    trap_texts = [subject.trap, *sentences(subject.trap)] if subject.trap else []
    topic_texts = sentences(subject.reference) + [subject.question] + trap_texts
    q_texts = [*sentences(subject.question), subject.question]
    vecs = embed(flat + flag_texts + topic_texts + q_texts)
    out, i = [], 0
    for group in crit_texts:
        out.append(vecs[i : i + len(group)])
        i += len(group)
    flags = vecs[i : i + len(flag_texts)]
    i += len(flag_texts)
    topic = vecs[i : i + len(topic_texts)]
    i += len(topic_texts)
    question = vecs[i:]
    restate = thresholds_for(subject).restate
    ceiling = _best(out, _units(embed(sentences(subject.reference))), question, restate)[0]
    floor = (
        _best(out, _units(embed(sentences(subject.trap))), question, restate)[0] if subject.trap else np.zeros(len(out))
    )
    return Targets(out, flags, topic, question, ceiling, floor)


def _units(sv: np.ndarray) -> np.ndarray:
    """Sentence vectors, then adjacent pairs (a point made across two sentences) as the normalised
    mean of their sentences' vectors: one model pass over the sentences instead of two."""
    if len(sv) < 2:
        return sv
    pairs = sv[:-1] + sv[1:]
    pairs /= np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-9)
    return np.vstack([sv, pairs])


def _matrix(
    criteria: list[np.ndarray], uv: np.ndarray, question: np.ndarray, restate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's cosine to each criterion (agreeing with its description, anchor and full level
    together), -1 for a unit that restates the question; and which units are usable."""
    usable = (uv @ question.T).max(axis=1) < restate if len(question) else np.ones(len(uv), bool)
    sims = np.stack([np.where(usable, (uv @ tv.T).mean(axis=1), -1.0) for tv in criteria], axis=1)
    return sims, usable


def _best(
    criteria: list[np.ndarray], uv: np.ndarray, question: np.ndarray, restate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per criterion: the best cosine over the units, and which unit; plus the usable-unit mask."""
    if not len(uv):
        return np.zeros(len(criteria)), np.zeros(len(criteria), dtype=int), np.zeros(0, bool)
    sims, usable = _matrix(criteria, uv, question, restate)
    best = sims.argmax(axis=0)
    return np.maximum(sims.max(axis=0), 0.0), best, usable


@dataclass
class Evidence:
    """Per-criterion and per-flag best match, plus the signals the guards use."""

    criterion_sim: list[float]
    criterion_unit: list[str | None]
    flag_sim: list[float]
    flag_unit: list[str | None]
    relevance: float
    wordiness: float
    novel_units: int  # sentences that are not restatements of the question
    targets: Targets
    criterion_words: list[float]  # per criterion: share of its own content words the answer uses
    # Every unit and its cosine to every criterion (-1 for a restated question) and red flag: where the
    # entailment stage draws its candidate passages from.
    units: list[str] = field(default_factory=list)
    unit_criterion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    unit_flag: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    whole: int | None = None  # the unit that is a short answer whole (at most WHOLE_ANSWER_WORDS), if any
    unit_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # one row per unit


def analyse(subject: Subject, answer: str, th: Thresholds | None = None) -> Evidence:
    th = th or thresholds_for(subject)
    t = targets(subject)
    sents = sentences(answer)
    us = sents + [f"{a} {b}" for a, b in zip(sents, sents[1:], strict=False)]
    n_crit, n_flag = len(t.criteria), len(subject.rubric.red_flags)
    if not us:
        return Evidence(
            [0.0] * n_crit, [None] * n_crit, [0.0] * n_flag, [None] * n_flag, 0.0, 0.0, 0, t, [0.0] * n_crit
        )
    sv = embed(sents)
    uv = _units(sv)
    n_units = len(us)  # the cosine figures below are over sentences and pairs only
    whole_unit = None
    if len(answer.split()) <= WHOLE_ANSWER_WORDS:
        # A short answer is also a candidate whole: its point can take three sentences to make.
        whole_unit = len(us) - 1  # one sentence, or two and their pair: the last unit is already the whole
        if len(sents) > 2:
            whole = sv.sum(axis=0)
            uv = np.vstack([uv, whole / max(float(np.linalg.norm(whole)), 1e-9)])
            us.append(" ".join(sents))
            whole_unit = len(us) - 1
    unit_criterion, usable = _matrix(t.criteria, uv, t.question, th.restate)
    best = unit_criterion[:n_units].argmax(axis=0)
    crit = np.maximum(unit_criterion[:n_units].max(axis=0), 0.0)
    crit_unit = [us[j] if crit[k] > 0 else None for k, j in enumerate(best)]
    flag_sim: list[float] = []
    flag_unit: list[str | None] = []
    fs = uv @ t.flags.T if n_flag else np.zeros((len(us), 0))
    for k in range(n_flag):
        j = int(fs[:n_units, k].argmax())
        flag_sim.append(float(fs[j, k]))
        flag_unit.append(us[j])
    relevance = float((uv[:n_units] @ t.topic.T).max(axis=1).max())
    n_sentences = len(sents)  # the single sentences come first in `us`
    return Evidence(
        [float(x) for x in crit],
        crit_unit,
        flag_sim,
        flag_unit,
        relevance,
        wordiness(answer),
        int(usable[:n_sentences].sum()),
        t,
        word_recall(subject, answer),
        us,
        unit_criterion,
        np.where(usable[:, None], fs, -1.0),
        whole_unit,
        uv,
    )


def word_recall(subject: Subject, answer: str) -> list[float]:
    """Per criterion, the share of its own content words (not the question's) found in the answer."""
    asked, used = content_words(subject.question), content_words(answer)
    out = []
    for c in subject.rubric.criteria:
        own = content_words(c.levels.full) - asked
        out.append(len(own & used) / len(own) if own else 0.0)
    return out


def criterion_scores(ev: Evidence, th: Thresholds) -> list[float]:
    """What the level thresholds apply to: the raw cosine (plus the weighted word recall, for reference
    claims), or its place between the card's floor and ceiling. Criteria differ in how high any
    on-topic sentence scores; the card's own texts show it."""
    sims = np.asarray(ev.criterion_sim) + th.word_weight * np.asarray(ev.criterion_words)
    if th.floor_weight is None:
        return [float(x) for x in sims]
    low = th.floor_weight * ev.targets.floor
    return [float(x) for x in (sims - low) / np.maximum(ev.targets.ceiling - low, 0.05)]


def level(sim: float, th: Thresholds) -> int:
    return 2 if sim >= th.full else 1 if sim >= th.partial else 0


def flags_raised(subject: Subject, ev: Evidence, th: Thresholds) -> list[str]:
    """Red flags whose statement the answer echoes more closely than it makes the core point."""
    core = max(ev.criterion_sim) if ev.criterion_sim else 0.0
    return [
        f.id
        for f, sim in zip(subject.rubric.red_flags, ev.flag_sim, strict=True)
        if sim >= th.flag and sim - core >= th.flag_margin
    ]


def guard(ev: Evidence, th: Thresholds) -> str | None:
    """Why this answer cannot pass whatever a model said, or None."""
    if ev.wordiness < th.min_wordiness:
        return "the answer is mostly not words"
    if ev.novel_units == 0:
        return "the answer only restates the question"
    if ev.relevance < th.relevant:
        # Below the bar sit off-topic answers and one-line claims too thin to show any reasoning (a short
        # wrong answer with an injected instruction, mostly): the message must fit both.
        return "the answer says too little about this question to pass (off-topic, or too thin to grade)"
    return None


@dataclass
class Decision:
    """What a decision stage settles: a level per criterion with the unit it was judged on and why,
    the red flags raised with the unit that raised each, and any guard."""

    levels: list[int]
    flags: list[str]
    guard: str | None
    evidence: list[str | None]
    why: list[str]
    flag_evidence: dict[str, str]
    points: list[list[PointResult]] | None = None  # per criterion, each point's reading (checklist only)
    unclear: dict[str, str] = field(default_factory=dict)  # flags read weakly, with the passage


def decide(subject: Subject, ev: Evidence, th: Thresholds) -> Decision:
    """The similarity rule (the grader before the entailment stage; kept to measure against it)."""
    rel = criterion_scores(ev, th)
    levels = [level(s, th) for s in rel]
    why = []
    for sim, r, words in zip(ev.criterion_sim, rel, ev.criterion_words, strict=True):
        if th.floor_weight is None and th.word_weight:
            text = (
                f"closest sentence matches this criterion at cosine {sim:.2f}, and the answer uses {words:.0%} "
                f"of the claim's own words (not the question's): {sim:.2f} + {th.word_weight:g} x {words:.2f} "
                f"= {r:.2f}"
            )
        elif th.floor_weight is None:
            text = f"closest sentence matches this criterion at cosine {sim:.2f}"
        else:
            text = (
                f"closest sentence matches this criterion at cosine {sim:.2f}, {r:.2f} on the card's scale "
                f"(0 = {th.floor_weight:g} x the trap's wording, 1 = the model answer)"
            )
        why.append(f"{text}; full at {th.full:.2f}, partial at {th.partial:.2f}")
    flags = flags_raised(subject, ev, th)
    units = {f.id: unit for f, unit in zip(subject.rubric.red_flags, ev.flag_unit, strict=True)}
    return Decision(
        levels,
        flags,
        guard(ev, th),
        [u if lv else None for u, lv in zip(ev.criterion_unit, levels, strict=True)],
        why,
        {f: units[f] or "" for f in flags},
    )
