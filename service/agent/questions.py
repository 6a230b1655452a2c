"""What the interviewer says next: aimed at an uncovered criterion, never giving the answer away."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable

import numpy as np

from service.catalog import Criterion, Trap
from service.config import Settings
from service.embeddings import embed, offload
from service.errors import ModelError
from service.grading.text import sentences, unwrap
from service.llm.client import LLM
from service.prompts import render

log = logging.getLogger(__name__)
LEAK_SIMILARITY = 0.80  # an interviewer turn this close to a sentence of the model answer gives it away


_fits: dict[str, np.ndarray] = {}
_answers: dict[str, np.ndarray] = {}


def _follow_up_fit(trap: Trap) -> np.ndarray:
    """Similarity of each card follow-up (rows) to each rubric criterion (columns), once per trap."""
    if trap.id not in _fits:
        fu = embed([f"{f.question} {f.good_answer}" for f in trap.card.follow_ups])
        cr = embed([f"{c.description} {c.anchor}" for c in trap.rubric.criteria])
        _fits[trap.id] = fu @ cr.T
    return _fits[trap.id]


def _answer_vectors(trap: Trap) -> np.ndarray:
    if trap.id not in _answers:
        _answers[trap.id] = embed(sentences(trap.card.correct_answer))
    return _answers[trap.id]


def warm(trap: Trap) -> None:
    """Embed what this trap's follow-ups and leak checks read, before a candidate waits for it.

    The card's own follow-up sentences too: the embedded 0.5B mostly asks them word for word (76 of
    its 89 sentences in the recorded interviewer eval), and the leak check then finds them embedded.
    """
    _follow_up_fit(trap)
    _answer_vectors(trap)
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


def leaks(trap: Trap, text: str) -> bool:
    """True when a turn restates the model answer closely enough to hand it over."""
    sents = sentences(text)
    if not sents:
        return False
    sims = embed(sents) @ _answer_vectors(trap).T
    return bool(sims.max() >= LEAK_SIMILARITY)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_TURN_CHARS = 600


async def phrase(
    llm: LLM | None,
    settings: Settings,
    trap: Trap,
    criterion: Criterion,
    draft: str,
    transcript: list[dict[str, str]],
    kind: str = "follow_up",
    emit: Callable[[str], None] | None = None,
) -> tuple[str, str | None]:
    """The LLM's phrasing of the next turn, streamed sentence by sentence through `emit`.

    Each sentence is checked for leaks before it is shown; a leaking first sentence falls back to
    the card's draft, a later one ends the turn at the sentences already shown. Returns (text,
    notice); the notice says when the model could not be reached. Without `emit` nobody watches
    the words arrive, so the reply is fetched whole; its sentences are checked the same way.
    """
    if llm is None:
        return draft, None
    messages = [
        {"role": "system", "content": render(settings.prompts_dir, "interviewer_system.jinja", card=trap.card)},
        {
            "role": "user",
            "content": render(
                settings.prompts_dir, f"{kind}.jinja", criterion=criterion, draft=draft, transcript=transcript[-4:]
            ),
        },
    ]
    shown: list[str] = []
    buffer = ""

    async def accept(sentence: str) -> bool:
        sentence = sentence.strip().strip('"')
        if not sentence:
            return True
        if sum(len(x) for x in shown) + len(sentence) > MAX_TURN_CHARS or await offload(leaks, trap, sentence):
            return False
        shown.append(sentence)
        if emit:
            emit(sentence + " ")
        return True

    async def accept_all(sentences: list[str]) -> bool:
        for sentence in sentences:  # in order, stopping at the first that cannot be shown
            if not await accept(sentence):
                return False
        return True

    async def whole(model: LLM) -> AsyncIterator[str]:
        yield await model.atext(messages)

    pieces = llm.astream(messages) if emit else whole(llm)
    try:
        async for piece in pieces:
            buffer += piece
            *complete, buffer = _SENTENCE_END.split(buffer)
            if not await accept_all(complete):
                buffer = ""
                break
        else:
            await accept(buffer)
    except ModelError as exc:
        log.warning("interviewer model failed: %s", exc.message)
        if shown:
            return " ".join(shown), None
        return draft, "The interviewer model could not be reached, so this turn uses the card's own question."
    finally:  # a turn cut short (a leaking sentence) closes the model's stream, so its call is logged now
        await pieces.aclose()  # type: ignore[attr-defined]
    if not shown:
        if emit:
            emit(draft)
        return draft, None
    return " ".join(shown), None
