"""Broken turns never reach a candidate: the live failures of issue 30, each replayed through a stand-in
model server, are replaced whole by the card's question, on REST and on the WebSocket alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.agent import questions, turncheck
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.config import Settings
from service.grading.text import sentences, unwrap
from service.llm.stub import StubConfig, StubServer
from service.runtime import Runtime

# What the embedded 0.5B showed candidates in the live runs (issue 30), word for word.
BROKEN = {
    "prompt echo (llm-46)": "Your next turn: one follow-up question, in your own words, probing this without giving "
    "away the answer: Why is ZeRO-3 1.5x the communication of DDP rather than growing with the number of GPUs?",
    "fragment, then its question (mlsd-26)": "When INT8 quantization of the ranker is the right call. "
    "When is INT8 quantization of the ranker the right call?",
    "verbless, then its question (adl-14)": "Dropout before BatchNorm a problem even when the mean is handled "
    "correctly. Why is dropout before BatchNorm a problem even when the mean is handled correctly?",
    "prompt echo (llm-36)": "Your next turn: one follow-up question, in your own words, probing this without giving "
    "away the answer: What happens to activation memory when the sequence doubles?",
    "a lecture (adl-22)": "The non-saturating loss keeps gradients alive because it encourages the model to learn "
    "more complex patterns, and that is why it works better in practice.",
}
TWICE = "Prove that the acceptance probability equals one minus the total variation distance."
ANSWER = "I would downsample the negatives and recalibrate the scores on a later month of labels."


def _runs(settings: Settings) -> frozenset[tuple[str, ...]]:
    return turncheck.instruction_runs(settings.prompts_dir, questions.ASK_PROMPTS)


def _gate(settings: Settings, text: str, draft: str = "How would you pick the threshold?") -> turncheck.Gate:
    gate = turncheck.Gate(_runs(settings), draft)
    for sentence in sentences(text):
        if gate.judge(sentence) != "preface":
            break
    return gate


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_live_failure_is_rejected(case: str, settings: Settings) -> None:
    text = BROKEN[case]
    draft = sentences(text)[-1] if text.endswith("?") else "Why does the non-saturating loss help?"
    gate = _gate(settings, text, draft)
    assert gate.problem is not None and not any(turncheck.asks(s) for s in gate.shown), gate.shown


def test_a_sentence_said_twice_is_shown_once(settings: Settings) -> None:
    """llm-50: the model wrote the same request twice; the first ends the turn."""
    gate = _gate(settings, f"{TWICE} {TWICE}")
    assert gate.shown == [TWICE] and gate.problem is None
    assert turncheck.problems(f"{TWICE} {TWICE}", _runs(settings)) == ["near-duplicate", "2 questions"]


def test_good_turns_pass(settings: Settings) -> None:
    for text in (
        "How would you check whether the scores are still calibrated after that?",
        "Good, that is a start. How would you check whether the scores are still calibrated?",
        "You'd keep the 10,000x weight. What happens to the predicted probabilities then?",
        "Walk me through the arithmetic.",
    ):
        gate = _gate(settings, text)
        assert gate.problem is None and " ".join(gate.shown) == text, (text, gate.problem)
        assert turncheck.problems(text, _runs(settings)) == []


def test_every_card_question_reads_as_one_question(settings: Settings, catalog: Catalog) -> None:
    """The card path must pass the interviewer eval's reading of a shown turn."""
    for trap in catalog:
        for f in trap.card.follow_ups:
            assert turncheck.problems(unwrap(f.question), _runs(settings)) == [], (trap.id, f.question)


@pytest.mark.parametrize("listening", [False, True], ids=["REST", "WebSocket"])
@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_turn_is_replaced_whole(
    case: str, listening: bool, tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with StubServer(StubConfig(responder=lambda body: BROKEN[case])) as stub:
        async with Interviewer.open(Runtime(stub.settings(tmp_path, mode="llm"), catalog)) as iv:
            session = (await iv.start(trap_id="mlsd-35")).session_id
            events = [e async for e in iv.stream_reply(session, ANSWER, listening=listening)]
            state = await iv.state(session)
    said = events[-1]["reply"].message
    assert said in [unwrap(f.question) for f in catalog.get("mlsd-35").card.follow_ups]
    if listening:
        assert "".join(e["text"] for e in events if e["type"] == "delta") == said  # nothing else was streamed
    turn = state["turns"][-1]
    assert turn["source"] == "card" and turn["problem"]
