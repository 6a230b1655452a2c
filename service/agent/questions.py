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


MAX_TURN_CHARS = 600
MAX_HISTORY_CHARS = 6000  # about 1,500 tokens of interview; the oldest turns drop out beyond it
# Requests that ask as plainly as a question does ("Walk me through...", "Estimate...").
_ASKING = re.compile(
    r"^(walk|explain|describe|tell|estimate|sketch|compute|calculate|show|give|name|list|compare|outline|derive|"
    r"quantify|talk)\b",
    re.IGNORECASE,
)


def asks(sentence: str) -> bool:
    """Whether a sentence asks the candidate something: a question, or a request like "Estimate the cost."."""
    s = sentence.strip().strip("\"'“”")
    return s.endswith("?") or bool(_ASKING.match(s))


def words(text: str) -> str:
    """Text as its lower-case words alone: what "word for word the same" compares."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


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
) -> tuple[str, str | None]:
    """The LLM's phrasing of the next turn, streamed sentence by sentence through `emit`.

    Each sentence is shown as soon as it is checked for leaks; a leak ends the turn at what was shown.
    A turn is a question: a reply that never asks is completed (or, with nothing shown, replaced) by
    `fallback`, by default the card's draft. A clarification never repeats the question it
    clarifies: its sentences that do are dropped.
    Returns (text, notice); the notice says when the model could not be reached. Without `emit`
    nobody watches the words arrive, so the reply is fetched whole and checked the same way.
    """
    fallback = fallback or draft
    if llm is None:
        return fallback, None
    messages = messages_for(settings, trap, criterion, draft, turns, kind)
    repeated = {words(x) for x in sentences(draft)} if kind == "clarify" else set()
    shown: list[str] = []
    buffer = ""

    async def accept(sentence: str) -> bool:
        sentence = sentence.strip().strip('"')
        if not sentence or words(sentence) in repeated:
            return True
        if sum(len(x) for x in shown) + len(sentence) > MAX_TURN_CHARS or await offload(leaks, trap, sentence):
            return False
        shown.append(sentence)
        if emit:
            emit(sentence + " ")
        return True

    async def accept_all(complete: list[str]) -> bool:
        for sentence in complete:  # in order, stopping at the first that cannot be shown
            if not await accept(sentence):
                return False
        return True

    async def whole(model: LLM) -> AsyncIterator[str]:
        yield await model.atext(messages)

    pieces = llm.astream(messages) if emit else whole(llm)
    notice = None
    try:
        async for piece in pieces:
            complete, buffer = complete_sentences(buffer + piece)
            if not await accept_all(complete):
                buffer = ""
                break
        else:
            await accept(buffer)
    except ModelError as exc:
        log.warning("interviewer model failed: %s", exc.message)
        if not shown:
            return fallback, "The interviewer model could not be reached, so this turn uses the card's own question."
        notice = "The interviewer model's reply was cut short; what it said is shown as far as it got."
    finally:  # a turn cut short (a leaking sentence) closes the model's stream, so its call is logged now
        await pieces.aclose()  # type: ignore[attr-defined]
    if not any(asks(x) for x in shown):  # what was shown stands; the card's question makes it a question
        if emit:
            emit(fallback)
        shown.append(fallback)
    return " ".join(shown), notice
