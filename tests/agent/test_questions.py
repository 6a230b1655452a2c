"""What the interviewer's model may say: every turn asks something, a clarification is new words,
a hint is a pointer, and each prompt repeats the last one up to the candidate's answer (the cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.agent.session import Interviewer
from service.agent.turncheck import asks
from service.catalog import Catalog
from service.config import Settings
from service.grading.text import unwrap
from service.llm.stub import StubConfig, StubServer
from service.runtime import Runtime

ANSWER = "I would downsample the negatives and recalibrate the scores on a later month of labels."
QUESTION = "How would you check whether the scores are still calibrated after that?"


async def _interview(tmp_path: Path, settings: Settings, catalog: Catalog, reply: Any, *messages: str) -> list[Any]:
    """Each candidate message's streamed events, against a stub model answering with `reply(body)`."""
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    out = []
    with StubServer(StubConfig(responder=reply)) as stub:
        async with Interviewer.open(Runtime(stub.settings(tmp_path, mode="llm"), catalog)) as iv:
            session = (await iv.start(trap_id="mlsd-35")).session_id
            for message in messages:
                out.append([e async for e in iv.stream_reply(session, message)])
        out.append(stub.config.requests)
    return out


def test_asks() -> None:
    assert asks(QUESTION) and asks("Walk me through the arithmetic.") and asks('"Estimate the cost."')
    assert not asks("Events should be sampled in proportion to their revenue.")


async def test_a_reply_that_never_asks_is_replaced_by_the_cards_question(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    """The live failure: a bare statement reached the candidate as the follow-up. Now a statement that does
    not speak to the candidate is never shown: the card's own question stands in, whole."""
    statement = "Events should be sampled in proportion to their revenue."
    events, _ = await _interview(tmp_path, settings, catalog, lambda body: statement, ANSWER)
    said = events[-1]["reply"].message
    cards = [unwrap(f.question) for f in catalog.get("mlsd-35").card.follow_ups]
    assert said in cards
    assert "".join(e["text"] for e in events if e["type"] == "delta") == said  # streamed as it is shown


async def test_a_reply_that_asks_is_shown_as_it_comes(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    reply = f"Good, that is a start. {QUESTION}"
    events, _ = await _interview(tmp_path, settings, catalog, lambda body: reply, ANSWER)
    assert events[-1]["reply"].message == reply
    # The opening sentence waits for its question: a turn is shown whole or not at all.
    assert [e["text"] for e in events if e["type"] == "delta"] == [reply + " "]


async def test_a_clarification_never_repeats_the_question(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    """The model echoes the question it was asked to clarify, as the live run did: the candidate gets a
    narrower card question instead, never the same words again."""
    asked, clarified, _ = await _interview(
        tmp_path, settings, catalog, lambda body: QUESTION, ANSWER, "What do you mean by that?"
    )
    before, after = asked[-1]["reply"].message, clarified[-1]["reply"].message
    assert before == QUESTION and after.startswith("More concretely: ") and QUESTION not in after


async def test_a_hint_points_toward_the_missing_idea(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    hinted, _ = await _interview(tmp_path, settings, catalog, lambda body: QUESTION, "Can I get a hint?")
    said = hinted[-1]["reply"].message
    hints = [c.hint for c in catalog.get("mlsd-35").rubric.criteria]
    assert said.startswith("A hint (it costs 5 points in the report): ") and said.split(": ", 1)[1] in hints


async def test_each_prompt_repeats_the_last_up_to_the_answer(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    """llama.cpp reuses the longest prefix shared with the previous prompt: the instructions, the card and the
    interview so far come first and unchanged, and only this turn's task follows the candidate's answer."""
    *_, requests = await _interview(
        tmp_path, settings, catalog, lambda body: QUESTION, ANSWER, "Then I would recalibrate on a held-out month."
    )
    first, second = (r["messages"] for r in requests[-2:])
    assert second[: len(first) - 1] == first[:-1] and first[-1]["role"] == "system"
    assert [m["role"] for m in second[len(first) - 1 :]] == ["assistant", "user", "system"]


async def test_the_primer_reads_what_the_first_follow_up_starts_with(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    """While the candidate types, the embedded model reads the instructions, the card and the opening
    question (one token back); the first follow-up's prompt starts with exactly those messages."""
    from service.agent.questions import conversation
    from service.llm.factory import make_llm

    trap = catalog.get("mlsd-35")
    opening = [{"role": "interviewer", "content": unwrap(trap.card.question)}]
    primer = conversation(settings, trap, opening)
    *_, requests = await _interview(tmp_path, settings, catalog, lambda body: QUESTION, ANSWER)
    assert requests[-1]["messages"][: len(primer)] == primer
    with StubServer(StubConfig(responder=lambda body: "x")) as stub:
        llm = make_llm(settings=stub.settings(tmp_path / "p", mode="llm"), role="ask")
        await llm.aprime(primer)
        assert stub.config.requests[-1]["max_tokens"] == 1 and stub.config.requests[-1]["messages"] == primer
