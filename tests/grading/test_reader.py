"""The shipped reader, and grades that follow what the answer says.

The live cases are the ones users met: plain rejections read as assertions, and a one-sentence correct
answer (llm-36) scored 5/100 because similarity to a long criterion text set its level.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from evals.grading import DEFAULT_GOLD
from service.catalog import Catalog
from service.config import Settings
from service.grading.entailment import LABELS, MODEL_DIR, cross_encoder, decide
from service.grading.factory import make_grader
from service.grading.grader import Grader
from service.grading.subject import Subject

GOLD = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines()]
# What the shipped reader still gets wrong (docs/grading.md, "Why similarity is still the default"): each is a
# strict xfail, so a better reader turns it into a failure until the test is updated.
READER_MISSES = "the shipped reader (MiniLM-L6, three epochs here) does not read this as written; see docs/grading.md"


@pytest.fixture(scope="module")
def grader(settings: Settings) -> Grader:
    return make_grader(settings=settings, mode="semantic", use_cache=False, decider="checklist")


def _grade(grader: Grader, catalog: Catalog, trap_id: str, answer: str):  # type: ignore[no-untyped-def]
    return grader.grade(Subject.from_trap(catalog.get(trap_id)), answer)


def test_the_shipped_model_is_the_one_its_card_describes() -> None:
    card = json.loads((MODEL_DIR / "card.json").read_text())
    model = MODEL_DIR / "model.onnx"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["sha256"]
    assert model.stat().st_size == card["bytes"] <= 60 * 2**20
    assert card["labels"] == list(LABELS)
    assert card["sha256"] in (MODEL_DIR / "MODEL_CARD.md").read_text()
    assert set(card["held_out_writers"]) and set(card["thresholds"]) == {"point", "flag"}


WEIGHT = "Weighting the fraud class by about 10,000 is the right training objective."
SWIGLU = "SwiGLU keeps the MLP's parameter count the same as the ReLU MLP it replaces."
GPUS = "Adding GPUs does not raise throughput when the input pipeline is the bottleneck."
RATE = "Thirty-two A100s at about 2,500 images per second need roughly 80,000 images per second, about 8.8 GB/s."


@pytest.mark.parametrize(
    ("statement", "passage", "label"),
    [
        (WEIGHT, "I'd put a weight of ten thousand on the fraud class in the loss.", "entails"),
        (WEIGHT, "I wouldn't weight the fraud class by 10,000: it only inflates the predicted odds.", "contradicts"),
        (WEIGHT, "A 10,000x class weight? No.", "contradicts"),
        pytest.param(
            WEIGHT,
            "The last thing I'd do is put a 10k weight on fraud.",
            "contradicts",
            marks=pytest.mark.xfail(strict=True, reason=READER_MISSES),
        ),
        (
            WEIGHT,
            "My colleague would weight fraud by 10,000; that's wrong, the threshold is the real lever.",
            "contradicts",
        ),
        (SWIGLU, "SwiGLU adds a third matrix, so the MLP has half again as many parameters.", "contradicts"),
        (SWIGLU, "Same parameter count as the ReLU MLP, yes.", "entails"),
        (WEIGHT, "Let's talk about the review budget first.", "neither"),
        # Agreement worded negatively is agreement; a number restated loosely is still read as a wrong one.
        (GPUS, "More GPUs wouldn't change images per second; the loaders are the limit.", "entails"),
        pytest.param(
            RATE,
            "32 GPUs at 2,500 is 80 thousand images a second, about 9 gigabytes per second.",
            "entails",
            marks=pytest.mark.xfail(strict=True, reason=READER_MISSES),
        ),
        (RATE, "32 GPUs at 2,500 is 8 thousand images a second, under 1 gigabyte per second.", "contradicts"),
    ],
)
def test_it_reads_assertions_rejections_and_silence_apart(statement: str, passage: str, label: str) -> None:
    assert decide(cross_encoder().probabilities([(statement, passage)])) == [label]


def test_a_one_sentence_correct_answer_gets_its_credit(grader: Grader, catalog: Catalog) -> None:
    """The answer a new user gave to llm-36: the gate matrix, the parameter growth and the iso-sizing."""
    answer = (
        "SwiGLU adds a third (gate) matrix, so at the same hidden size the parameter count grows by half, and a "
        "fair comparison shrinks the hidden dimension to about 8/3 of d."
    )
    grade = _grade(grader, catalog, "llm-36", answer)
    levels = {c.id: c.score for c in grade.criteria}
    assert levels["third-matrix-count"] >= 1 and levels["iso-sizing"] >= 1
    assert grade.score >= 25 and not grade.fell_into_trap
    found = [p for c in grade.criteria for p in c.points if p.status == "stated"]
    assert found and all(p.evidence and p.evidence in answer for p in found)  # every found point quotes the answer


FRAUD = (
    "Weighting the positives by w doesn't change the ranking: the weighted optimum just multiplies the predicted "
    "odds by w, so applying a 0.5 cutoff to those inflated scores is what floods the review queue. "
    "I'd train plain unweighted log-loss with negative downsampling at r = 0.01, which gives about 40 positives "
    "per 4,096 batch and a hundred times fewer examples per epoch. "
    "The probabilities are restored exactly with q = p / (p + (1 - p)/r). "
    "Then the threshold is set to fill the 0.1% daily review capacity, not 0.5."
)


@pytest.mark.xfail(strict=True, reason=READER_MISSES + " (the threshold-shift criterion gets partial credit)")
def test_the_fraud_answer_gets_credit_for_what_it_states(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "mlsd-35", FRAUD)
    levels = {c.id: c.score for c in grade.criteria}
    assert levels["weighting-is-threshold-shift"] == 2
    assert levels["downsampling-recalibration"] >= 1
    assert not grade.fell_into_trap and not grade.unclear_flags  # it names the weight only to reject it
    for c in grade.criteria:  # the evidence shown is the passage judged, in the candidate's words
        assert c.evidence is None or c.evidence in FRAUD
        assert "cosine" not in c.rationale and "p 0." not in c.rationale  # reasons in words, not numbers


@pytest.mark.parametrize(
    ("trap_id", "answer"),
    [
        (
            "mlsd-35",
            "I would not weight the fraud class by 10,000. That only multiplies the predicted odds, so at 0.5 the "
            "review queue floods; I'd downsample negatives and set the threshold from the review budget instead.",
        ),
        (
            "llm-32",
            "Saving only the weights is not enough: the optimizer state has to be saved too, because Adam's "
            "moments start from zero on resume and the first steps at peak learning rate are far too large.",
        ),
    ],
)
def test_an_answer_that_rejects_the_trap_is_not_accused_of_it(
    grader: Grader, catalog: Catalog, trap_id: str, answer: str
) -> None:
    grade = _grade(grader, catalog, trap_id, answer)
    assert not grade.fell_into_trap  # never accused; at most asked about (unclear), which caps nothing


def test_a_plain_trap_answer_is_asked_about_or_capped(grader: Grader, catalog: Catalog) -> None:
    flag = "inverse-frequency-weight-default-threshold"
    grade = _grade(grader, catalog, "mlsd-35", "I'd weight the fraud class by 10,000 in the cross-entropy.")
    said = {**grade.flag_evidence, **grade.unclear_flags}
    assert flag in said and "10,000" in said[flag]
    assert grade.score <= 35


def test_a_plain_trap_answer_is_raised(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "mlsd-35", "I'd weight the fraud class by 10,000 in the cross-entropy.")
    assert grade.fell_into_trap
