"""Whole interviews in semantic mode: each special move, the report, restart and resume, progress."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.agent.session import Interviewer
from service.errors import InvalidInputError, SessionError, UnknownTrapError
from service.grading.text import unwrap
from service.runtime import Runtime

STRONG = [
    "Reservoir sampling, Algorithm R: keep the first k events, then for the n-th event draw j uniformly in 1..n "
    "and replace slot j if j <= k. It needs O(k) memory and O(1) work per event and never needs n in advance.",
    "Proof by induction: after n events every event is in the reservoir with probability k/n, because the new "
    "one enters with k/(n+1) and each kept one survives with probability 1 - 1/(n+1).",
]


@pytest.fixture
async def interviewer(own_runtime) -> AsyncIterator[Interviewer]:  # type: ignore[no-untyped-def]
    async with Interviewer.open(own_runtime()) as iv:
        yield iv


async def test_whole_interview_ends_with_report(interviewer: Interviewer) -> None:
    reply = await interviewer.start(trap_id="mlsd-33", user="ann")
    assert reply.status == "active" and "200,000" in reply.message
    for message in STRONG:
        reply = await interviewer.reply(reply.session_id, message)
    reply = await interviewer.reply(reply.session_id, "finish")
    assert reply.status == "finished"
    report = reply.report
    assert report is not None and report.trap_id == "mlsd-33"
    assert report.grade.criteria and report.red_flags == []
    assert report.score == report.grade.score and report.hint_penalty == 0
    for c in report.grade.criteria:
        assert c.evidence is None or c.evidence in "\n\n".join(STRONG)
    assert interviewer.store.progress("ann")["finished"] == 1


async def test_report_names_the_trap_fallen_into_in_the_candidates_words(interviewer: Interviewer) -> None:
    trap = interviewer.catalog.get("mlsd-33")
    answer = (
        "Since we don't know how many events there will be, I'd keep each event with a fixed probability, say 1%, "
        "with a random-number check as it arrives. That gives every event exactly the same chance of being "
        "selected, so it's uniform by construction."
    )
    reply = await interviewer.start(trap_id=trap.id)
    reply = await interviewer.reply(reply.session_id, answer)
    if reply.message.startswith("Before we go on"):  # read as the trap only in part: asked, and the reply settles it
        reply = await interviewer.reply(reply.session_id, "Yes, that is what I would do.")
    report = (await interviewer.reply(reply.session_id, "finish")).report
    assert report is not None and report.red_flags, "keeping each event with a fixed probability is the trap"
    statements = {f.id: f.statement for f in trap.rubric.red_flags}
    for flag in report.red_flags:
        assert flag.statement == statements[flag.id] and flag.evidence in answer
    assert [f.id for f in report.red_flags] == report.grade.red_flags


async def test_report_reads_the_card_as_prose(interviewer: Interviewer) -> None:
    card = interviewer.catalog.get("llm-42").card
    assert "\n" in card.correct_answer.strip().split("\n\n")[0]  # hard-wrapped in its YAML
    reply = await interviewer.start(trap_id="llm-42")
    report = (await interviewer.reply(reply.session_id, "finish")).report
    assert report is not None and report.model_answer == unwrap(card.correct_answer)
    assert report.trap_explained == unwrap(card.trap)
    assert all("\n" not in paragraph for paragraph in report.model_answer.split("\n\n"))


async def test_hint_costs_points_and_is_in_report(interviewer: Interviewer) -> None:
    reply = await interviewer.start(trap_id="mlsd-33")
    reply = await interviewer.reply(reply.session_id, "Can I get a hint?")
    assert reply.message.startswith("A hint (it costs 5 points in the report)")
    reply = await interviewer.reply(reply.session_id, STRONG[0])
    reply = await interviewer.reply(reply.session_id, "finish")
    assert reply.report is not None and reply.report.hint_penalty == 5
    assert reply.report.score == max(0, reply.report.grade.score - 5)


async def test_dont_know_clarify_and_off_topic(interviewer: Interviewer) -> None:
    reply = await interviewer.start(trap_id="llm-46")
    opening = reply.message
    reply = await interviewer.reply(reply.session_id, "Use a B-tree index on the customer id column for the SQL joins.")
    assert reply.message.startswith("That seems to answer a different question.") and opening in reply.message
    reply = await interviewer.reply(reply.session_id, "What do you mean by flooding the network?")
    assert reply.status == "active" and reply.message
    reply = await interviewer.reply(reply.session_id, "I don't know.")
    assert reply.message.startswith("That's fine, let's look at it from another angle.")


async def test_interview_always_ends(interviewer: Interviewer) -> None:
    reply = await interviewer.start(trap_id="adl-7")
    for _ in range(12):
        if reply.status == "finished":
            break
        reply = await interviewer.reply(reply.session_id, "qwrtz plkjh mnbvc xswed")
    assert reply.status == "finished"


async def test_restart_and_resume(tmp_path: Path, interviewer: Interviewer) -> None:
    reply = await interviewer.start(trap_id="mlsd-33", user="bob")
    reply = await interviewer.reply(reply.session_id, STRONG[0])
    async with Interviewer.open(Runtime.build(interviewer.settings)) as again:  # a new process on the same database
        state = await again.state(reply.session_id)
        assert [t["role"] for t in state["turns"]] == ["interviewer", "candidate", "interviewer"]
        resumed = await again.reply(reply.session_id, "finish")
    assert resumed.status == "finished" and resumed.report is not None


async def test_topic_retrieval_and_next_best(interviewer: Interviewer) -> None:
    assert (await interviewer.start(topic="uniform sample of an endless event stream")).trap_id == "mlsd-33"
    topic = "KV cache memory for long context"  # three cards within 1% of each other's fused score
    near_tie = await interviewer.start(topic=topic)
    ranked = [h.trap_id for h in interviewer.index.search(topic, k=3)]
    assert [near_tie.trap_id, *(a["trap_id"] for a in near_tie.alternatives)] == ranked
    assert near_tie.alternatives[0]["title"] == interviewer.catalog.get(ranked[1]).card.title
    assert (await interviewer.resume(near_tie.session_id)).alternatives == near_tie.alternatives
    assert (await interviewer.start(trap_id=ranked[0])).alternatives == []  # chosen by id: nothing to offer
    first = await interviewer.start(user="cara")
    await interviewer.reply(first.session_id, "finish")
    second = await interviewer.start(user="cara")
    assert second.trap_id != first.trap_id  # unseen traps come first


async def test_bad_input(interviewer: Interviewer) -> None:
    with pytest.raises(UnknownTrapError, match="nearest ids: llm-46"):
        await interviewer.start(trap_id="llm-460")
    reply = await interviewer.start(trap_id="llm-46")
    with pytest.raises(InvalidInputError, match="the message is empty"):
        await interviewer.reply(reply.session_id, "  ")
    with pytest.raises(SessionError, match="unknown session 'nope'"):
        await interviewer.reply("nope", "hello there")
    await interviewer.reply(reply.session_id, "finish")
    with pytest.raises(SessionError, match="has finished"):
        await interviewer.reply(reply.session_id, "one more thing")


async def test_a_retried_message_runs_no_second_turn(interviewer: Interviewer) -> None:
    """A client that resends a message (a timeout, a double click) with the same id gets the same answer,
    even when the two arrive at the same moment; a new id is a new turn."""
    import asyncio

    reply = await interviewer.start(trap_id="mlsd-33")
    first, again = await asyncio.gather(
        interviewer.reply(reply.session_id, STRONG[0], message_id="m-1"),
        interviewer.reply(reply.session_id, STRONG[0], message_id="m-1"),
    )
    assert first.message == again.message
    roles = [t["role"] for t in (await interviewer.state(reply.session_id))["turns"]]
    assert roles == ["interviewer", "candidate", "interviewer"]
    done = await interviewer.reply(reply.session_id, "finish", message_id="m-2")
    assert (await interviewer.reply(reply.session_id, "finish", message_id="m-2")).report == done.report
    with pytest.raises(SessionError, match="has finished"):
        await interviewer.reply(reply.session_id, "finish", message_id="m-3")
