"""The entailment stage: the shipped cross-encoder, and grades that follow what the answer says.

The live cases are the ones a new user met with the similarity grader: an answer that rejects the
trap was flagged as falling into it, and points plainly made were listed as missing.
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


@pytest.fixture(scope="module")
def grader(settings: Settings) -> Grader:
    return make_grader(settings=settings, mode="semantic", use_cache=False)


def _grade(grader: Grader, catalog: Catalog, trap_id: str, answer: str):  # type: ignore[no-untyped-def]
    return grader.grade(Subject.from_trap(catalog.get(trap_id)), answer)


def test_the_shipped_model_is_the_one_its_card_describes() -> None:
    card = json.loads((MODEL_DIR / "card.json").read_text())
    model = MODEL_DIR / "model.onnx"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["sha256"]
    assert model.stat().st_size == card["bytes"] <= 30 * 2**20
    assert card["labels"] == list(LABELS)
    assert card["sha256"] in (MODEL_DIR / "MODEL_CARD.md").read_text()


def test_it_reads_asserting_and_rejecting_apart() -> None:
    statement = (
        "Just weight the fraud class by 10,000 in the cross-entropy and classify at 0.5; that solves the imbalance."
    )
    passages = [
        "I'd put a weight of ten thousand on the fraud class in the loss and flag anything above 0.5.",
        "I would not weight fraud by 10,000: that only inflates the predicted odds, and a 0.5 cutoff then "
        "floods the review queue.",
    ]
    assert decide(cross_encoder().probabilities([(statement, p) for p in passages])) == ["entails", "contradicts"]


FRAUD = (
    "Weighting the positives by w doesn't change the ranking: the weighted optimum just multiplies the predicted "
    "odds by w, so applying a 0.5 cutoff to those inflated scores is what floods the review queue. "
    "I'd train plain unweighted log-loss with negative downsampling at r = 0.01, which gives about 40 positives "
    "per 4,096 batch and a hundred times fewer examples per epoch. "
    "The probabilities are restored exactly with q = p / (p + (1 - p)/r). "
    "Then the threshold is set to fill the 0.1% daily review capacity, not 0.5."
)


def test_the_fraud_answer_gets_credit_for_what_it_states(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "mlsd-35", FRAUD)
    levels = {c.id: c.score for c in grade.criteria}
    assert levels["weighting-is-threshold-shift"] == 2
    assert levels["downsampling-recalibration"] == 2
    assert not grade.fell_into_trap  # it names the weight only to reject it
    for c in grade.criteria:  # the evidence shown is the passage judged, in the candidate's words
        assert c.evidence is None or c.evidence in FRAUD
    credited = [c for c in catalog.get("mlsd-35").rubric.criteria if levels[c.id]]
    missing = grade.feedback.split("Missing:")[-1] if "Missing:" in grade.feedback else ""
    assert all(c.description not in missing for c in credited)  # nothing credited is called missing


ZERO1 = (
    "DDP's ring all-reduce is itself a reduce-scatter followed by an all-gather, each moving (N-1)/N of the "
    "gradient bytes, so 2(N-1)/N times the model size per GPU. ZeRO-1 does exactly the reduce-scatter, runs the "
    "optimizer step on its own shard, then all-gathers the updated parameters: the same 2(N-1)/N. So the network "
    "traffic does not grow at all; only the optimizer-state memory per GPU falls."
)


def test_the_zero1_answer_gets_full_credit_on_communication_parity(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "llm-46", ZERO1)
    assert {c.id: c.score for c in grade.criteria}["comm-volume-parity"] == 2
    assert not grade.fell_into_trap


SHIPPED_MODEL_MISSES = "the shipped cross-encoder does not read this rejection as one (see docs/grading.md)"


@pytest.mark.parametrize(
    ("trap_id", "answer"),
    [
        pytest.param(
            "llm-36",
            "SwiGLU adds a third weight matrix, so at the same 4x expansion the MLP has 1.5 times the parameters "
            "and FLOPs of the ReLU one; to compare fairly you shrink d_ff to about 8/3 of d_model.",
            marks=pytest.mark.xfail(strict=True, reason=SHIPPED_MODEL_MISSES),
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
    assert not _grade(grader, catalog, trap_id, answer).fell_into_trap


def test_a_flag_the_answer_rejects_is_cancelled(settings: Settings, grader: Grader, catalog: Catalog) -> None:
    """The similarity rule accuses this expert answer of the trap it argues against; the hybrid rule's
    cross-encoder reads the rejection and cancels the flag, so the cap goes with it."""
    row = next(r for r in GOLD if r["id"] == "adl-24/expert")
    old = make_grader(settings=settings, mode="semantic", use_cache=False, decider="similarity")
    accused = _grade(old, catalog, "adl-24", row["answer"])
    cleared = _grade(grader, catalog, "adl-24", row["answer"])
    assert accused.fell_into_trap and accused.score <= 40
    assert not cleared.fell_into_trap and cleared.score >= row["band"][0]


@pytest.mark.xfail(strict=True, reason="2 of 49 are still flagged (docs/grading.md); " + SHIPPED_MODEL_MISSES)
def test_no_gold_answer_that_rejects_its_trap_raises_a_flag(grader: Grader, catalog: Catalog) -> None:
    rejecting = [r for r in GOLD if r["kind"] == "rejecting"]
    assert len(rejecting) == 49
    flagged = [r["id"] for r in rejecting if _grade(grader, catalog, r["trap_id"], r["answer"]).fell_into_trap]
    assert flagged == []


@pytest.mark.parametrize(
    ("units", "rejected"),
    [
        (["The obvious fix is to tighten the regex and retrain.", "It fails because the model memorised it."], True),
        (["It's tempting to weight fraud by 10,000, but that only inflates the odds."], True),
        (["The easy read is that the vocabulary cut saves compute.", "That only holds for the embedding table."], True),
        (["The obvious fix is to tighten the regex and retrain.", "I'd also add more refusal examples."], False),
        (["Tighten the regex, re-scrub and retrain.", "That is what I would not skip."], False),
    ],
)
def test_a_view_set_up_to_be_knocked_down_is_told_from_one_held(units: list[str], rejected: bool) -> None:
    from service.grading.decisions import sets_up_to_reject

    assert sets_up_to_reject(units, 0) is rejected
