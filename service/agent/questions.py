"""What the interviewer says next: aimed at an uncovered criterion, never giving the answer away."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from service.agent import turncheck
from service.catalog import Criterion, Trap
from service.config import Settings
from service.embeddings import embed, offload
from service.errors import ModelError
from service.grading.text import complete_sentences, sentences, unwrap
from service.llm.client import LLM
from service.prompts import render

log = logging.getLogger(__name__)
LEAK_SIMILARITY = 0.80  # an interviewer turn this close to a sentence of the model answer gives it away


def _follow_up_fit(trap: Trap) -> np.ndarray:
    """Similarity of each card follow-up (rows) to each rubric criterion (columns)."""
    fu = embed([f"{f.question} {f.good_answer}" for f in trap.card.follow_ups])
    cr = embed([f"{c.description} {c.anchor}" for c in trap.rubric.criteria])
    return fu @ cr.T


def warm(trap: Trap) -> None:
    """Embed what this trap's follow-ups and leak checks read, before a candidate waits for it.

    The card's own follow-up sentences too: the embedded 0.5B mostly asks them word for word (76 of
    its 89 sentences in the recorded interviewer eval), and the leak check then finds them embedded.
    """
    _follow_up_fit(trap)
    embed(_answer_sentences(trap))
    embed([s for f in trap.card.follow_ups for s in sentences(unwrap(f.question))])


def target_criterion(trap: Trap, levels: dict[str, int], asked: list[str]) -> Criterion | None:
    """The highest-weight criterion not fully covered, preferring ones not probed yet."""
    open_ = [c for c in trap.rubric.criteria if levels.get(c.id, 0) < 2]
    if not open_:
        return None
    return sorted(open_, key=lambda c: (asked.count(c.id), -c.weight))[0]


def card_follow_up(trap: Trap, criterion: Criterion, used: list[int]) -> tuple[int | None, str]:
    """The card's own follow-up that best probes this criterion, or a neutral probe when all are used."""
    col = [c.id for c in trap.rubric.criteria].index(criterion.id)
    fit = _follow_up_fit(trap)[:, col]
    for i in np.argsort(-fit):
        if int(i) not in used:
            return int(i), unwrap(trap.card.follow_ups[int(i)].question)
    return None, "Let's stay on this scenario a little longer: what would you measure first to confirm your reasoning?"


def _answer_sentences(trap: Trap) -> list[str]:
    """What a turn must not hand over: the model answer, and the rubric's own statements of each point
    (a small model asked to probe a point has been seen to recite its description instead)."""
    rubric = [text for c in trap.rubric.criteria for text in (c.description, c.claim)]
    return sentences(trap.card.correct_answer) + rubric


def leaks(trap: Trap, text: str) -> bool:
    """True when a turn restates the model answer or the rubric closely enough to hand it over."""
    sents = sentences(text)
    if not sents:
        return False
    sims = embed(sents) @ embed(_answer_sentences(trap)).T
    return bool(sims.max() >= LEAK_SIMILARITY)


MAX_HISTORY_CHARS = 6000  # about 1,500 tokens of interview; the oldest turns drop out beyond it
ASK_PROMPTS = ("interviewer_system.jinja", "follow_up.jinja", "clarify.jinja")


def conversation(settings: Settings, trap: Trap, turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """The static part first (instructions and card), then the interview so far as a chat."""
    history: list[dict[str, str]] = []
    budget = MAX_HISTORY_CHARS
    for t in reversed(turns):
        budget -= len(t["content"])
        if budget < 0:
            break
        history.insert(0, {"role": "assistant" if t["role"] == "interviewer" else "user", "content": t["content"]})
    system = render(settings.prompts_dir, "interviewer_system.jinja", card=trap.card)
    return [{"role": "system", "content": system}, *history]


def messages_for(
    settings: Settings, trap: Trap, criterion: Criterion, draft: str, turns: list[dict[str, str]], kind: str
) -> list[dict[str, str]]:
    """The conversation, then this turn's task.

    Each turn's prompt repeats the previous one up to the candidate's last answer, byte for byte, so
    llama.cpp's prompt cache serves all of that and only the newest turns and the task are read.
    """
    task = render(settings.prompts_dir, f"{kind}.jinja", criterion=criterion, draft=draft)
    return [*conversation(settings, trap, turns), {"role": "system", "content": task}]


Source = Literal["model", "card"]


@dataclass
class Phrased:
    """A turn as shown, and whose words it is: the model's own, or the card's question in place of the
    model's text, rejected whole."""

    text: str
    source: Source
    notice: str | None = None
    problem: str | None = None  # why the model's text was not shown, when it was not
    raw: str = ""  # what the model wrote, as far as it was read


async def phrase(
    llm: LLM | None,
    settings: Settings,
    trap: Trap,
    criterion: Criterion,
    draft: str,
    turns: list[dict[str, str]],
    kind: str = "follow_up",
    emit: Callable[[str], None] | None = None,
    fallback: str | None = None,
    preface_taken: bool = False,
) -> Phrased:
    """The model's phrasing of the next turn, streamed through `emit` once it passes the turn checks
    (turncheck.Gate): the first question ends the turn, and an opening sentence before it is shown with it.
    A reply that fails them, or never asks, is replaced whole by the `fallback` (by default the card's
    draft). Without `emit` nobody watches the words arrive: the reply is fetched whole and read the same
    way, so REST and the WebSocket show the same turn.
    """
    fallback = fallback or draft
    if llm is None:
        return Phrased(fallback, "card")
    messages = messages_for(settings, trap, criterion, draft, turns, kind)
    runs = turncheck.instruction_runs(settings.prompts_dir, ASK_PROMPTS)
    gate = turncheck.Gate(runs, draft, clarify=kind == "clarify", preface_taken=preface_taken)
    raw = ""
    buffer = ""

    async def take(sentence: str) -> bool:
        """Whether to read on: after an opening sentence yes; after the question, or a rejected sentence, no."""
        if not turncheck.clean(sentence):
            return True
        if await offload(leaks, trap, sentence):
            gate.problem = "the card's answer"
            return False
        verdict = gate.judge(sentence)
        if verdict == "question" and emit:  # an opening sentence waits for its question: both, or neither
            emit(" ".join(gate.shown) + " ")
        return verdict == "preface"

    async def whole(model: LLM) -> AsyncIterator[str]:
        yield await model.atext(messages)

    pieces = llm.astream(messages) if emit else whole(llm)
    try:
        async for piece in pieces:
            raw += piece
            complete, buffer = complete_sentences(buffer + piece)
            if not await _take_all(take, complete):
                break
        else:
            if buffer.strip():
                await take(buffer)
    except ModelError as exc:  # reading stops at the question, so a failure always comes before it
        log.warning("interviewer model failed: %s", exc.message)
        notice = "The interviewer model could not be reached, so this turn uses the card's own question."
        if emit:
            emit(fallback)
        return Phrased(fallback, "card", notice, "unreachable", raw)
    finally:  # a turn ended early closes the model's stream, so its call is logged now
        await pieces.aclose()  # type: ignore[attr-defined]
    if gate.shown and turncheck.asks(gate.shown[-1]):
        return Phrased(" ".join(gate.shown), "model", None, None, raw)
    if emit:
        emit(fallback)
    return Phrased(fallback, "card", None, gate.problem or "never asks", raw)


async def _take_all(take: Callable[[str], Awaitable[bool]], complete: list[str]) -> bool:
    """The sentences in order, stopping at the first that ends the turn."""
    for sentence in complete:
        if not await take(sentence):
            return False
    return True
