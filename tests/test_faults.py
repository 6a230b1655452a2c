"""The fault matrix for model faults: each fault on each interface that talks to the model in a turn
(REST, the WebSocket, chat's path through the Interviewer, Slack's own test is in tests/slack, batch
in tests/batch). Each time the candidate gets a clear message and a question, their message is kept,
and the session goes on from the last good checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings
from service.llm.stub import StubConfig, StubServer

ANSWER = "I'd weight the fraud class by 10,000 in the cross-entropy and keep the 0.5 threshold."
# A cut reply is still words: what arrived is shown and the card's question completes it, with no
# notice; the others reach no words at all, and the notice says so.
SILENT = {"a reply cut short"}
FAULTS = {
    "5xx": StubConfig(error_rate=1.0),
    "429": StubConfig(rate_limit_rate=1.0),
    "a reply cut short": StubConfig(malformed_rate=1.0),
    "timeout": StubConfig(hang_rate=1.0, hang_seconds=5),
}


def _client(tmp_path: Path, settings: Settings, stub: StubServer) -> TestClient:
    """The app on a model that fails every call; one try, and a timeout of 1 s."""
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    model = stub.settings(tmp_path, mode="llm", retries=0, timeout=1.0)
    own = settings.model_copy(update={**model.model_dump(include=_MODEL), "data_dir": tmp_path})
    return TestClient(create_app(own))


_MODEL = {"model", "api_base", "api_key", "json_mode", "retries", "timeout", "mode", "grader"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_rest_turns_survive_each_model_fault(fault: str, tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with StubServer(FAULTS[fault]) as stub, _client(tmp_path, settings, stub) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        reply = client.post(f"/sessions/{sid}/messages", json={"message": ANSWER})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "active" and body["message"].strip().endswith("?")  # the card's question
        assert fault in SILENT or any("could not be reached" in n for n in body["notices"]), body["notices"]
        turns = client.get(f"/sessions/{sid}").json()["transcript"]
        assert [t["content"] for t in turns if t["role"] == "candidate"] == [ANSWER]  # the message was kept
        report = client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()
        assert report["status"] == "finished" and report["report"]["grade"]["criteria"]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_websocket_turns_survive_each_model_fault(fault: str, tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with StubServer(FAULTS[fault]) as stub, _client(tmp_path, settings, stub) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
            assert ws.receive_json()["type"] == "state"
            ws.send_json({"message": ANSWER})
            events = [ws.receive_json()]
            while events[-1]["type"] not in ("final", "error"):
                events.append(ws.receive_json())
        final = events[-1]
        notices = final["reply"]["notices"]
        assert final["type"] == "final" and (fault in SILENT or any("could not be reached" in n for n in notices))
        assert final["reply"]["message"].strip().endswith("?")
        assert any(e["type"] == "interviewer" and e["text"].strip() for e in events)
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:  # a reconnect finds the turn saved
            state = ws.receive_json()
            assert [t["role"] for t in state["transcript"]] == ["interviewer", "candidate", "interviewer"]
