"""Semantic grading: the no-LLM mode and the guards that protect every score."""

from __future__ import annotations

import json

import pytest

from evals.grading import DEFAULT_GOLD
from service.catalog import Catalog
from service.config import Settings
from service.errors import InvalidInputError
from service.grading.factory import make_grader
from service.grading.grader import Grader
from service.grading.subject import Subject

GOLD = {(r["trap_id"], r["kind"]): r for r in map(json.loads, DEFAULT_GOLD.read_text().splitlines())}


@pytest.fixture(scope="module")
def grader(settings: Settings) -> Grader:
    return make_grader(settings=settings, mode="semantic", use_cache=False)


def _subject(catalog: Catalog, trap_id: str) -> Subject:
    return Subject.from_trap(catalog.get(trap_id))


def test_expert_answer_passes_with_verbatim_evidence(grader: Grader, catalog: Catalog) -> None:
    answer = GOLD[("llm-46", "expert")]["answer"]
    grade = grader.grade(_subject(catalog, "llm-46"), answer)
    assert grade.verdict in ("pass", "strong") and grade.score >= 60
    assert grade.grader.mode == "semantic" and grade.grader.model == "all-MiniLM-L6-v2 + minilm-l6-reader"
    for c in grade.criteria:
        assert c.evidence is None or c.evidence in answer  # every point is a quote from the answer
    assert not grade.fell_into_trap and grade.flag_evidence == {}


def test_trap_answer_is_flagged_and_capped(grader: Grader, catalog: Catalog) -> None:
    answer = GOLD[("mlsd-35", "trap")]["answer"]
    grade = grader.grade(_subject(catalog, "mlsd-35"), answer)
    assert grade.score <= 40 and grade.verdict == "fail"
    assert grade.fell_into_trap and grade.red_flags == ["inverse-frequency-weight-default-threshold"]
    # The accusation is explained like a score: by the candidate's own words.
    assert list(grade.flag_evidence) == grade.red_flags
    assert all(quote and quote in answer for quote in grade.flag_evidence.values())


def test_an_answer_that_commits_the_trap_is_not_called_off_topic(grader: Grader, catalog: Catalog) -> None:
    """The trap paragraph counts as on topic sentence by sentence: as one text it sat far from any
    one claim in it, and the guard told this candidate their answer was off-topic."""
    grade = grader.grade(_subject(catalog, "llm-43"), GOLD[("llm-43", "trap")]["answer"])
    assert grade.guard is None and grade.verdict == "fail"  # whether it is raised: test_reader.py
    thin = grader.grade(_subject(catalog, "mlsd-32"), "Just use Modin. It's a drop-in replacement for pandas.")
    assert thin.verdict == "fail" and "off-topic" not in (thin.guard or "")  # short and wrong is not off-topic either
    # With the reader a point it reads in part lifts the guard; cosine alone calls the answer too thin.
    cosine = make_grader(settings=grader.settings, mode="semantic", use_cache=False, decider="similarity")
    thin = cosine.grade(_subject(catalog, "mlsd-32"), "Just use Modin. It's a drop-in replacement for pandas.")
    assert thin.guard is not None and "too thin" in thin.guard


def test_off_topic_answer_cannot_pass(grader: Grader, catalog: Catalog) -> None:
    grade = grader.grade(_subject(catalog, "llm-46"), GOLD[("llm-46", "off_topic")]["answer"])
    assert grade.score <= 20 and grade.verdict == "fail"


def test_gibberish_is_guarded(grader: Grader, catalog: Catalog) -> None:
    grade = grader.grade(_subject(catalog, "llm-46"), "asdkj qwpoe zxcmn vbnqw rtyxc 8271 %%% ghjkt")
    assert grade.guard == "the answer is mostly not words" and grade.score <= 20


def test_gibberish_is_never_credited_with_a_point(grader: Grader, catalog: Catalog) -> None:
    """The scripted gibberish candidate of `interviewer eval interviewer`: the reader, asked, read these letters
    as stating nearly every mlsd-35 point; the guard capped the score at 20 but the report quoted them."""
    gibberish = "qwrtzp sdfghj klxcvb nmqwrt zpsdfg hjklxc vbnmqw rtzpsd fghjkl xcvbnm qwrtzp sdfghj"
    grade = grader.grade(_subject(catalog, "mlsd-35"), f"{gibberish}\n\n{gibberish}")
    assert grade.guard == "the answer is mostly not words" and grade.score == 0
    assert not grade.red_flags and not grade.unclear_flags
    assert all(p.status == "missing" for c in grade.criteria for p in c.points)


def test_restating_the_question_is_guarded(grader: Grader, catalog: Catalog) -> None:
    question = catalog.get("llm-46").card.question
    grade = grader.grade(_subject(catalog, "llm-46"), question)
    assert grade.guard == "the answer only restates the question"
    assert grade.verdict == "fail"


def test_empty_and_huge_answers_are_refused(grader: Grader, catalog: Catalog) -> None:
    with pytest.raises(InvalidInputError, match="the answer is empty"):
        grader.grade(_subject(catalog, "llm-46"), "  \n ")
    with pytest.raises(InvalidInputError, match="the answer is 20,001 characters; the limit is 20,000"):
        grader.grade(_subject(catalog, "llm-46"), "x" * 20_001)


def test_injection_does_not_raise_the_score(grader: Grader, catalog: Catalog) -> None:
    row = GOLD[("llm-45", "injection")]
    grade = grader.grade(_subject(catalog, "llm-45"), row["answer"])
    assert grade.score <= row["band"][1]


def test_same_input_same_grade_and_cache_hit(settings: Settings, catalog: Catalog) -> None:
    grader = make_grader(settings=settings, mode="semantic")
    answer = GOLD[("adl-14", "partial")]["answer"]
    assert grader.cache is not None
    before = len(grader.cache)
    first = grader.grade(_subject(catalog, "adl-14"), answer)
    assert len(grader.cache) == before + 1  # stored
    again = grader.grade(_subject(catalog, "adl-14"), answer)
    assert again == first and len(grader.cache) == before + 1  # served from the cache, not stored twice


def test_reference_claims_count_the_claims_own_words_not_the_questions(grader: Grader) -> None:
    from service.grading import semantic
    from service.grading.reference import claims_rubric

    question = "Why does bulb A stay lit when switch Z is open?"
    reference = "Bulb A is still in a closed path with the battery."
    subject = Subject.from_reference(question, reference, claims_rubric(reference))
    right = "Because A is still on a closed path that includes the battery."
    assert semantic.word_recall(subject, right)[0] > 0.8
    # "bulb", "stays lit", "switch" and "open" are the question's words: no credit for them.
    assert semantic.word_recall(subject, "Bulb A stays lit because switch Z is open.")[0] == 0.0
    assert semantic.thresholds("reference").word_weight > 0 and semantic.thresholds("trap").word_weight == 0
    old = make_grader(settings=grader.settings, mode="semantic", use_cache=False, decider="similarity")
    rationale = old.grade(subject, right).criteria[0].rationale
    assert "of the claim's own words" in rationale  # the similarity rule says where its score came from
