"""Scores, caps, verdicts and quote checks are computed in code."""

from __future__ import annotations

from service.catalog import Catalog
from service.grading.models import CriterionScore
from service.grading.scoring import final_score, guarded, verdict, verify_quote


def test_weighted_score_and_lowest_cap(catalog: Catalog) -> None:
    rubric = catalog.get("llm-46").rubric
    full = [CriterionScore(id=c.id, score=2, evidence="x", rationale="") for c in rubric.criteria]
    assert final_score(rubric, full, []) == 100
    half = [CriterionScore(id=c.id, score=1, evidence="x", rationale="") for c in rubric.criteria]
    assert final_score(rubric, half, []) == 50
    caps = sorted(f.cap for f in rubric.red_flags)
    assert final_score(rubric, full, [f.id for f in rubric.red_flags]) == caps[0]


def test_verdict_bands() -> None:
    assert [verdict(s, 60) for s in (90, 70, 50, 30)] == ["strong", "pass", "borderline", "fail"]
    assert guarded(95, "off-topic", 20, 60) == 20 and guarded(95, None, 20, 60) == 95


def test_quote_must_be_in_the_answer() -> None:
    answer = "ZeRO-1 keeps the  communication volume at 2Ψ,\nlike plain DDP."
    assert verify_quote("communication volume at 2Ψ, like plain DDP", answer) == (
        "communication volume at 2Ψ,\nlike plain DDP"
    )
    assert verify_quote('"zero-1 keeps the communication"', answer) == "ZeRO-1 keeps the  communication"
    assert verify_quote("ZeRO-3 triples the traffic", answer) is None
    assert verify_quote("", answer) is None and verify_quote(None, answer) is None
