"""The shipped reader, and grades that follow what the answer says.

The live cases are the ones users met: plain rejections read as assertions, and a one-sentence correct
answer (llm-36) scored 5/100 because similarity to a long criterion text set its level.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from evals.grading import DEFAULT_GOLD
from service.catalog import Catalog
from service.config import Settings
from service.grading.entailment import LABELS, MODEL_DIR, CrossEncoder, cross_encoder, decide
from service.grading.factory import make_grader
from service.grading.grader import Grader
from service.grading.subject import Subject

GOLD = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines()]
# What the shipped reader still gets wrong (docs/grading.md, "Why the checklist is the default"): each is a
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
    offsets = json.loads((MODEL_DIR / "labels.json").read_text())["offsets"]
    assert offsets == [card["offsets"][label] for label in LABELS]
    assert f"neither {offsets[-1]:+.1f}" in (MODEL_DIR / "MODEL_CARD.md").read_text()


def test_the_reader_adds_its_offsets_to_the_logits(tmp_path: Path) -> None:
    """The offsets fitted in training are part of the model: without them its readings are not the card's."""
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).symlink_to(MODEL_DIR / name)
    meta = json.loads((MODEL_DIR / "labels.json").read_text())
    (tmp_path / "labels.json").write_text(json.dumps({**meta, "offsets": [0.0] * len(LABELS)}))
    pair = [(WEIGHT, "I'd put a weight of ten thousand on the fraud class in the loss.")]
    plain = CrossEncoder(tmp_path).probabilities(pair)[0]
    shifted = np.exp(np.log(plain) + meta["offsets"])
    assert np.allclose(cross_encoder().probabilities(pair)[0], shifted / shifted.sum(), atol=1e-5)
    assert any(meta["offsets"]) and not np.allclose(plain, cross_encoder().probabilities(pair)[0], atol=1e-3)


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
        pytest.param(
            GPUS,
            "More GPUs wouldn't change images per second; the loaders are the limit.",
            "entails",
            marks=pytest.mark.xfail(strict=True, reason=READER_MISSES),
        ),
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


LLM36_SHORT = (
    "SwiGLU adds a third (gate) matrix, so at the same hidden size the parameter count grows by half, and a "
    "fair comparison shrinks the hidden dimension to about 8/3 of d."
)  # the answer a new user gave to llm-36: the gate matrix, the parameter growth and the iso-sizing


def test_a_one_sentence_correct_answer_gets_credit_for_what_is_read(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "llm-36", LLM36_SHORT)
    levels = {c.id: c.score for c in grade.criteria}
    assert levels["iso-sizing"] >= 1 and grade.score > 0
    assert not grade.fell_into_trap and not grade.unclear_flags
    assert not any(p.status == "contradicted" for c in grade.criteria for p in c.points)  # never told it contradicts
    found = [p for c in grade.criteria for p in c.points if p.status == "stated"]
    assert found and all(p.evidence and p.evidence in LLM36_SHORT for p in found)  # every found point quotes it


@pytest.mark.xfail(
    strict=True, reason=READER_MISSES + " ('a third (gate) matrix … grows by half' against 'three matrices')"
)
def test_a_one_sentence_correct_answer_gets_all_its_credit(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(grader, catalog, "llm-36", LLM36_SHORT)
    levels = {c.id: c.score for c in grade.criteria}
    assert levels["third-matrix-count"] >= 1 and levels["iso-sizing"] >= 1 and grade.score >= 25


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


@pytest.mark.xfail(
    strict=True, reason=READER_MISSES + " (the trap restated in the answer's own words is read as rejected)"
)
@pytest.mark.parametrize(
    ("trap_id", "answer"),
    [
        ("llm-43", next(g["answer"] for g in GOLD if g["id"] == "llm-43/trap")),
        ("mlsd-33", "Keep each event with probability 1%, so every event has the same chance. Reservoir sampling."),
    ],
)
def test_a_trap_answer_in_its_own_words_is_raised_or_asked_about(
    grader: Grader, catalog: Catalog, trap_id: str, answer: str
) -> None:
    grade = _grade(grader, catalog, trap_id, answer)
    assert grade.fell_into_trap or grade.unclear_flags


@pytest.mark.xfail(strict=True, reason=READER_MISSES + " (k/n for k/i, in a fragment)")
def test_a_terse_algorithm_r_gets_credit(grader: Grader, catalog: Catalog) -> None:
    grade = _grade(
        grader, catalog, "mlsd-33", "Reservoir sampling: keep k, replace a random slot with probability k/n."
    )
    assert grade.score > 0
