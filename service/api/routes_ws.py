"""WebSocket /ws/sessions/{id}: the interviewer's words stream as they are generated.

Client → server: {"message": "..."}. Server → client: {"type": "state", ...} on connect (so a
reconnect resumes where the session stopped), then per message {"type": "token", "text"} pieces,
{"type": "interviewer", "text"} for each whole turn, and {"type": "final", "reply": {...}}.
Errors in a message come back as {"type": "error", "detail", "status"} and the socket stays open;
an unknown session closes with code 4404.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from service.agent.session import Interviewer
from service.api import deps
from service.errors import InterviewerError, SessionError

router = APIRouter()
_DONE = object()


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    if not deps.authorised(websocket.app.state.settings, websocket.headers, websocket.query_params):
        await websocket.close(code=4401, reason="missing or wrong bearer token")
        return
    iv: Interviewer = await asyncio.to_thread(deps.interviewer_for, websocket.app)
    await websocket.accept()
    try:
        st = await asyncio.to_thread(iv.state, session_id)
    except SessionError as exc:
        await websocket.close(code=4404, reason=exc.message)
        return
    await websocket.send_json(
        {
            "type": "state",
            "session_id": session_id,
            "trap_id": st["trap_id"],
            "status": st["status"],
            "transcript": [{"role": t["role"], "content": t["content"], "kind": t["kind"]} for t in st["turns"]],
            "report": st.get("report"),
        }
    )
    try:
        while True:
            data = await websocket.receive_json()
            message = data.get("message") if isinstance(data, dict) else None
            if not isinstance(message, str):
                await websocket.send_json({"type": "error", "status": 422, "detail": 'send {"message": "..."}'})
                continue
            await _relay(websocket, iv, session_id, message)
    except WebSocketDisconnect:
        return


async def _relay(websocket: WebSocket, iv: Interviewer, session_id: str, message: str) -> None:
    """Run the (sync) graph in a worker thread and forward its events as they happen."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def push(event: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def work() -> None:
        try:
            push({"type": "final", "reply": iv.reply(session_id, message, on_event=push)})
        except InterviewerError as exc:
            push(exc)
        finally:
            push(_DONE)

    worker = loop.run_in_executor(deps.turn_pool(websocket.app), work)
    while (event := await queue.get()) is not _DONE:
        if isinstance(event, InterviewerError):
            await websocket.send_json({"type": "error", "status": event.status_code, "detail": event.message})
        elif event["type"] == "delta":
            await websocket.send_json({"type": "token", "text": event["text"]})
        elif event["type"] == "interviewer":
            await websocket.send_json({"type": "interviewer", "text": event["text"]})
        else:
            await websocket.send_json({"type": "final", "reply": event["reply"].model_dump()})
    await worker
