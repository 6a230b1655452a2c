"""The checklist rule: levels from points, flags from claims, unclear flags, and rationales in words.

A scripted reader stands in for the model, so each test pins the rule, not the model's reading."""

from __future__ import annotations

import numpy as np
import pytest

from service.catalog import Catalog
from service.grading import semantic
from service.grading.checklist import ReaderThresholds, level, rationale, read
from service.grading.entailment import LABELS
from service.grading.subject import Subject

TH = ReaderThresholds(candidates=3, point=0.6, flag=0.9)


class ScriptedReader:
    """Reads a pair by a script: {(statement start, passage word): label or (label, p)}; else neither."""

    name = "scripted"

    def __init__(self, script: dict[tuple[str, str], str | tuple[str, float]]) -> None:
        self.script = script
        self.asked: list[tuple[str, str]] = []

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        self.asked += pairs
        out = []
        for statement, passage in pairs:
            label, p = "neither", 0.97
            for (start, word), said in self.script.items():
                if statement.startswith(start) and word in passage:
                    label, p = said if isinstance(said, tuple) else (said, 0.97)
            row = np.full(len(LABELS), (1 - p) / 3)
            row[LABELS.index(label)] = p
            out.append(row)
        return np.array(out)


@pytest.fixture
def fraud(catalog: Catalog) -> Subject:
    return Subject.from_trap(catalog.get("mlsd-35"))


def _read(subject: Subject, answer: str, reader: ScriptedReader):  # type: ignore[no-untyped-def]
    ev = semantic.analyse(subject, answer)
    return read(subject, ev, reader, TH)


def test_full_needs_the_core_and_enough_others(fraud: Subject) -> None:
    crit = fraud.rubric.criteria[0]  # weighting-is-threshold-shift: core + 1 other for full
    core, other = crit.core, next(p for p in crit.points if not p.core)
    assert core is not None and crit.full_others == 1
    both = ScriptedReader({(core.text[:30], "odds"): "entails", (other.text[:30], "ranking"): "entails"})
    answer = "The weight multiplies the odds by w. The ranking stays the same."
    assert _read(fraud, answer, both).levels[0] == 2
    only_core = ScriptedReader({(core.text[:30], "odds"): "entails"})
    assert _read(fraud, answer, only_core).levels[0] == 1
    only_other = ScriptedReader({(other.text[:30], "ranking"): "entails"})
    assert _read(fraud, answer, only_other).levels[0] == 1
    assert _read(fraud, answer, ScriptedReader({})).levels[0] == 0


def test_another_passage_read_as_rejecting_a_point_does_not_take_its_credit(fraud: Subject) -> None:
    core = fraud.rubric.criteria[0].core
    assert core is not None
    # The second sentence names a different detail and is read (wrongly) as rejecting the point.
    reader = ScriptedReader({(core.text[:30], "odds"): "entails", (core.text[:30], "budget"): ("contradicts", 0.98)})
    checklist = _read(fraud, "The weight multiplies the odds by w. The review budget sets the cut.", reader)
    status = {p.id: r.status for p, r in checklist.points[0]}
    assert status[core.id] == "stated"
    assert dict(checklist.points[0])[core].passage == "The weight multiplies the odds by w."


def test_a_trap_set_up_and_rejected_more_strongly_elsewhere_is_not_raised(fraud: Subject) -> None:
    flag = fraud.rubric.red_flags[0]
    claim = next(c for c in flag.claims if c.raises)
    reader = ScriptedReader({(claim.text[:30], "10,000"): "entails", (claim.text[:30], "wrong"): ("contradicts", 0.98)})
    checklist = _read(fraud, "Some would weight the fraud class by 10,000. That is wrong.", reader)
    assert flag.id not in checklist.raised and flag.id not in checklist.unclear


def test_a_point_read_without_confidence_is_not_stated(fraud: Subject) -> None:
    core = fraud.rubric.criteria[0].core
    assert core is not None
    weak = ScriptedReader({(core.text[:30], "odds"): ("entails", 0.55)})  # under TH.point
    checklist = _read(fraud, "The weight multiplies the odds by w.", weak)
    status = {p.id: r.status for p, r in checklist.points[0]}
    assert status[core.id] == "partly" and checklist.levels[0] == 1  # the core said in part: partial


def test_a_short_answer_whole_is_read_for_every_statement(fraud: Subject) -> None:
    reader = ScriptedReader({})
    answer = "Weighting multiplies the odds by w. So ranking is unchanged. Threshold at the review budget."
    _read(fraud, answer, reader)
    whole = " ".join(semantic.sentences(answer))
    statements = {s for s, _ in reader.asked}
    assert statements == {s for s, p in reader.asked if p == whole}  # every statement met the whole answer


def test_a_flag_needs_every_raising_claim_and_confidence(fraud: Subject) -> None:
    flag = fraud.rubric.red_flags[0]
    raising = [c for c in flag.claims if c.raises]
    assert len(raising) == 1
    said = ScriptedReader({(raising[0].text[:30], "10,000"): "entails"})
    checklist = _read(fraud, "I'd weight the fraud class by 10,000.", said)
    assert flag.id in checklist.raised and flag.id not in checklist.unclear
    rejected = ScriptedReader({(raising[0].text[:30], "10,000"): "contradicts"})
    checklist = _read(fraud, "I would never weight the fraud class by 10,000.", rejected)
    assert flag.id not in checklist.raised and flag.id not in checklist.unclear
    hedged = ScriptedReader({(raising[0].text[:30], "10,000"): ("entails", 0.7)})  # under TH.flag
    checklist = _read(fraud, "Maybe weight the fraud class by 10,000? Not sure.", hedged)
    assert flag.id in checklist.unclear and flag.id not in checklist.raised
    assert "10,000" in checklist.unclear[flag.id]


def test_a_trap_read_in_an_answer_that_passes_on_its_points_is_asked_about_not_capped(fraud: Subject) -> None:
    flag = fraud.rubric.red_flags[0]
    claim = next(c for c in flag.claims if c.raises)
    every_point = {(p.text[:30], "odds"): "entails" for c in fraud.rubric.criteria for p in c.points}
    reader = ScriptedReader(every_point | {(claim.text[:30], "10,000"): "entails"})
    checklist = _read(fraud, "I'd weight the fraud class by 10,000. The weight multiplies the odds.", reader)
    assert all(lv == 2 for lv in checklist.levels)
    assert flag.id in checklist.unclear and flag.id not in checklist.raised
    assert "10,000" in checklist.unclear[flag.id]
    # Without the points, the same reading raises it.
    alone = ScriptedReader({(claim.text[:30], "10,000"): "entails"})
    checklist = _read(fraud, "I'd weight the fraud class by 10,000. The weight multiplies the odds.", alone)
    assert flag.id in checklist.raised


def test_the_non_raising_half_of_a_compound_trap_raises_nothing(fraud: Subject) -> None:
    flag = fraud.rubric.red_flags[0]
    other = next(c for c in flag.claims if not c.raises)
    reader = ScriptedReader({(other.text[:30], "0.5"): "entails"})
    checklist = _read(fraud, "Classify at 0.5 after recalibrating.", reader)
    assert flag.id not in checklist.raised and flag.id not in checklist.unclear


def test_the_rationale_names_points_and_quotes_in_words(fraud: Subject) -> None:
    crit = fraud.rubric.criteria[0]
    core = crit.core
    assert core is not None
    checklist = _read(
        fraud, "The weight multiplies the odds by w.", ScriptedReader({(core.text[:30], "odds"): "entails"})
    )
    text = rationale(checklist.points[0])
    assert text.startswith(f"Found: {core.text} (“The weight multiplies the odds by w.”)")
    assert "Missing: " in text and all(p.text in text for p in crit.points)
    assert not any(word in text for word in ("cosine", "p 0.", "threshold at", "scale"))


def test_levels_follow_the_rule_for_any_count(fraud: Subject) -> None:
    points = fraud.rubric.criteria[0].points
    reading = read(fraud, semantic.analyse(fraud, "x y z words here."), ScriptedReader({}), TH).points[0]
    assert level(reading, 0) == 0
    stated = [(p, type(r)("stated", "q", 0.99, 0.99, 0.0) if p.core else r) for p, r in reading]
    assert level(stated, 0) == 2 and level(stated, 1) == 1
    assert len(points) == len(reading)


def test_a_core_said_in_part_counts_as_the_core_when_the_others_are_stated(fraud: Subject) -> None:
    """A core often sums up what several sentences say; no passage of one or two sentences entails it."""
    reading = read(fraud, semantic.analyse(fraud, "x y z words here."), ScriptedReader({}), TH).points[0]
    partly = type(reading[0][1])("partly", "q", 0.3, 0.8, 0.0)
    stated = type(reading[0][1])("stated", "q", 0.99, 0.99, 0.0)
    core_in_part = [(p, partly if p.core else r) for p, r in reading]
    assert level(core_in_part, 0) == 1 and level(core_in_part, 1) == 1  # alone: partial, whatever the rule
    with_other = [(p, partly if p.core else stated) for p, r in reading]
    assert level(with_other, 1) == 2
