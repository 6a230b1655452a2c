"""Who listens decides how the model is asked: streamed for a listener, one whole reply otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.agent.session import Interviewer
from service.config import Settings
from service.llm.stub import StubConfig, StubServer

ANSWER = "I would weight the fraud class by ten thousand in the cross-entropy."
SAID = "How would you check whether the scores are still calibrated after that?"


def test_listener_hears_the_words_and_a_whole_reply_is_fetched_whole(
    tmp_path: Path, settings: Settings, index: Any
) -> None:
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with StubServer(StubConfig(responder=lambda body: SAID)) as stub:
        iv = Interviewer(stub.settings(tmp_path, mode="llm"))

        whole = iv.start(trap_id="mlsd-35")
        reply = iv.reply(whole.session_id, ANSWER)
        assert reply.message == SAID and reply.notices == []
        assert not stub.config.requests[-1].get("stream")

        events: list[dict[str, Any]] = []
        heard = iv.start(trap_id="mlsd-35", on_event=events.append)
        assert events == [{"type": "interviewer", "text": heard.message}]  # the card's scenario, whole
        events.clear()
        reply = iv.reply(heard.session_id, ANSWER, on_event=events.append)
        assert stub.config.requests[-1]["stream"] is True
        deltas = [e["text"] for e in events if e["type"] == "delta"]
        assert "".join(deltas).strip() == SAID == reply.message
        assert events[-1] == {"type": "interviewer", "text": SAID}
