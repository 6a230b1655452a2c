"""The WebSocket session stream, reconnect-resume, and bearer-token auth."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.api.app import create_app
from service.config import Settings
from service.llm.stub import StubConfig, StubServer

# Algorithm R in words no reader takes for the random-overwrite trap (an answer read as a trap claim in part
# is asked about first, which these tests are not about).
ALGORITHM_R = (
    "Reservoir sampling, Algorithm R: keep the first k events in the buffer and sample later ones so every "
    "event ends up equally likely."
)


def _client(tmp_path: Path, settings: Settings, **update: object) -> TestClient:
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    return TestClient(create_app(settings.model_copy(update={"data_dir": tmp_path, **update})))


def test_websocket_interview_and_reconnect(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-33"}).json()["session_id"]
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
            state = ws.receive_json()
            assert state["type"] == "state" and state["transcript"][0]["role"] == "interviewer"
            ws.send_json({"message": ALGORITHM_R})
            events = []
            while not events or events[-1]["type"] != "final":
                events.append(ws.receive_json())
            assert events[0]["type"] == "interviewer" and events[-1]["reply"]["status"] == "active"
            detail = 'send a JSON text frame: {"message": "...", "message_id": "..." (optional)}'
            for send, frame in [
                (ws.send_json, {"text": "wrong shape"}),
                (ws.send_json, {"message": 7}),
                (ws.send_json, {"message": "x", "message_id": ["a"]}),
                (ws.send_text, "not json {"),
                (ws.send_text, ""),
                (ws.send_bytes, b"\x00\xff\xfe binary"),
                (ws.send_json, ["a", "list"]),
            ]:
                send(frame)  # type: ignore[operator]
                assert ws.receive_json() == {"type": "error", "status": 422, "detail": detail}, frame
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:  # reconnect: the session continues
            state = ws.receive_json()
            assert [t["role"] for t in state["transcript"]] == ["interviewer", "candidate", "interviewer"]
            ws.send_json({"message": "x" * 20_001})
            assert ws.receive_json()["status"] == 422
            ws.send_json({"message": "finish"})
            events = []
            while not events or events[-1]["type"] != "final":
                events.append(ws.receive_json())
            assert events[-1]["reply"]["status"] == "finished"


def test_a_turn_the_client_dropped_still_finishes_and_is_saved(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """The page reconnects after a drop and sends its next message: that turn must not wait on the
    dropped one's lock, and the dropped turn must be in the saved transcript, whole."""
    question = "How would you " + "really " * 20 + "measure that before shipping?"
    with StubServer(StubConfig(word_seconds=0.05, responder=lambda body: question)) as stub:
        model = stub.settings(tmp_path).model_dump(include={"model", "api_base", "api_key", "json_mode"})
        with _client(tmp_path, settings, mode="llm", **model) as client:
            sid = client.post("/sessions", json={"trap_id": "mlsd-33"}).json()["session_id"]
            with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
                ws.receive_json()
                ws.send_json({"message": ALGORITHM_R})
                assert ws.receive_json()["type"] == "token"  # dropped here, mid-reply
            with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
                ws.receive_json()
                ws.send_json({"message": "finish"})
                events = [ws.receive_json()]
                while events[-1]["type"] != "final":
                    events.append(ws.receive_json())
                assert events[-1]["reply"]["status"] == "finished"
            turns = client.get(f"/sessions/{sid}").json()["transcript"]
    assert [t["role"] for t in turns[:4]] == ["interviewer", "candidate", "interviewer", "candidate"]
    assert turns[2]["content"] == question


def test_websocket_unknown_session(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings) as client:
        with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect("/ws/sessions/nope") as ws:
            ws.receive_json()
        assert exc.value.code == 4404


def test_bearer_token(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, api_token="s3cret") as client:
        assert client.get("/healthz").status_code == 200
        denied = client.get("/traps")
        assert denied.status_code == 401 and denied.json()["detail"].startswith("missing or wrong bearer token")
        assert client.get("/traps", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/traps", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect("/ws/sessions/x") as ws:
            ws.receive_json()
        assert exc.value.code == 4401
