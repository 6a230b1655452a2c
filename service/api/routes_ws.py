"""WebSocket /ws/sessions/{id}: the interviewer's words stream as they are generated.

Client → server: {"message": "..."}. Server → client: {"type": "state", ...} on connect (so a
reconnect resumes where the session stopped), then per message {"type": "token", "text"} pieces,
{"type": "interviewer", "text"} for each whole turn, and {"type": "final", "reply": {...}}.
Errors in a message come back as {"type": "error", "detail", "status"} and the socket stays open;
an unknown session closes with code 4404, and a database that cannot serve with 1013 (try again later).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from service.agent.session import Event, Interviewer
from service.api import deps
from service.errors import InterviewerError, SessionError, StorageError

router = APIRouter()


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    if not deps.authorised(websocket.app.state.settings, websocket.headers, websocket.query_params):
        await websocket.close(code=4401, reason="missing or wrong bearer token")
        return
    iv: Interviewer = deps.interviewer_for(websocket.app)
    await websocket.accept()
    try:
        st = await iv.state(session_id)
    except SessionError as exc:
        await websocket.close(code=4404, reason=_reason(exc.message))
        return
    except StorageError as exc:  # 1013: try again later
        await websocket.close(code=1013, reason=_reason(exc.message))
        return
    await websocket.send_json(
        {
            "type": "state",
            "session_id": session_id,
            "trap_id": st["trap_id"],
            "status": st["status"],
            "transcript": [{"role": t["role"], "content": t["content"], "kind": t["kind"]} for t in st["turns"]],
            "report": st.get("report"),
            "follow_ups": st.get("follow_ups", 0),
            "max_follow_ups": iv.settings.max_follow_ups,
        }
    )
    try:
        while True:
            message, message_id = _message(await websocket.receive())
            if message is None:
                detail = 'send a JSON text frame: {"message": "...", "message_id": "..." (optional)}'
                await websocket.send_json({"type": "error", "status": 422, "detail": detail})
                continue
            await _relay(websocket, iv, session_id, message, message_id)
    except WebSocketDisconnect:
        return


async def _relay(websocket: WebSocket, iv: Interviewer, session_id: str, message: str, message_id: str | None) -> None:
    """Forward one turn's events as the graph streams them. The turn runs as its own task: a client
    that drops mid-turn (or a handler cancelled with its connection) does not stop it, so it ends,
    is saved, and the reconnected page finds it."""
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def turn() -> None:
        try:
            async for event in iv.stream_reply(session_id, message, message_id=message_id):
                events.put_nowait(_wire(event))
        except InterviewerError as exc:
            events.put_nowait({"type": "error", "status": exc.status_code, "detail": exc.message})
        finally:
            events.put_nowait(None)

    task = asyncio.create_task(turn(), name=f"turn-{session_id}")
    running: set[asyncio.Task[None]] = websocket.app.state.turns
    running.add(task)
    task.add_done_callback(running.discard)
    while (event := await events.get()) is not None:
        try:
            await websocket.send_json(event)
        except (RuntimeError, OSError) as exc:  # closed under us; uvicorn's ClientDisconnected is an OSError
            raise WebSocketDisconnect from exc


def _message(frame: MutableMapping[str, Any]) -> tuple[str | None, str | None]:
    """The message and its id from a client frame; (None, None) for anything else (a binary frame, text
    that is not JSON, JSON of another shape), which the socket answers with an error and survives."""
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    try:
        data = json.loads(frame.get("text") or "")
    except ValueError:
        return None, None
    message = data.get("message") if isinstance(data, dict) else None
    message_id = data.get("message_id") if isinstance(data, dict) else None
    if not isinstance(message, str) or not isinstance(message_id, str | None):
        return None, None
    return message, message_id


def _reason(message: str) -> str:
    """A close reason within the 123 bytes a WebSocket close frame holds."""
    data = message.encode()
    return message if len(data) <= 123 else data[:120].decode(errors="ignore") + "…"


def _wire(event: Event) -> dict[str, Any]:
    if event["type"] == "delta":
        return {"type": "token", "text": event["text"]}
    if event["type"] == "interviewer":
        return {"type": "interviewer", "text": event["text"]}
    return {"type": "final", "reply": event["reply"].model_dump()}
