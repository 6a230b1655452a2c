"""Who listens decides how the model is asked: streamed for a listener, one whole reply otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.agent.session import Interviewer
from service.catalog import Catalog
from service.config import Settings
from service.llm.stub import StubConfig, StubServer
from service.runtime import Runtime

ANSWER = "I would downsample the negatives and recalibrate the scores on a later month of labels."
SAID = "How would you check whether the scores are still calibrated after that?"


async def test_listener_hears_the_words_and_a_whole_reply_is_fetched_whole(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with StubServer(StubConfig(responder=lambda body: SAID)) as stub:
        async with Interviewer.open(Runtime(stub.settings(tmp_path, mode="llm"), catalog)) as iv:
            whole = await iv.start(trap_id="mlsd-35")
            reply = await iv.reply(whole.session_id, ANSWER)
            assert reply.message == SAID and reply.notices == []
            assert not stub.config.requests[-1].get("stream")

            events = [e async for e in iv.stream_start(trap_id="mlsd-35")]
            heard = events[-1]["reply"]
            assert events[:-1] == [{"type": "interviewer", "text": heard.message}]  # the card's scenario, whole
            events = [e async for e in iv.stream_reply(heard.session_id, ANSWER)]
            assert stub.config.requests[-1]["stream"] is True
            deltas = [e["text"] for e in events if e["type"] == "delta"]
            assert "".join(deltas).strip() == SAID == events[-1]["reply"].message
            assert events[-2] == {"type": "interviewer", "text": SAID}


async def test_a_model_failure_is_said_on_its_own_turn_only(
    tmp_path: Path, settings: Settings, catalog: Catalog, index: Any
) -> None:
    """The first turn's model call fails (the card's question stands in, with a notice); the next is
    answered, and its reply carries no notice: a notice is about the turn it comes with."""
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with StubServer(StubConfig(fail_first=1, responder=lambda body: SAID)) as stub:
        async with Interviewer.open(Runtime(stub.settings(tmp_path, mode="llm", retries=0), catalog)) as iv:
            reply = await iv.start(trap_id="mlsd-35")
            failed = await iv.reply(reply.session_id, ANSWER)
            assert failed.message != SAID and failed.notices == [
                "The interviewer model could not be reached, so this turn uses the card's own question."
            ]
            answered = await iv.reply(reply.session_id, "Then I would recalibrate the scores on a held-out month.")
            assert answered.message == SAID and answered.notices == []
            assert (await iv.resume(reply.session_id)).notices == []  # nor does the session, read back
