"""Interview sessions over REST, each user's progress, and one-off grading."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from service.agent.session import Interviewer, Reply
from service.api import deps
from service.api.models import Progress, SessionView
from service.batch.records import NOT_BLANK, TEXT, Answer, resolve
from service.batch.runner import grade_of
from service.catalog import Catalog
from service.config import Settings
from service.embeddings import offload
from service.grading.models import Grade, Mode
from service.index import TrapIndex

router = APIRouter()


class StartSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trap_id: str | None = None
    topic: str | None = Field(default=None, json_schema_extra={"pattern": NOT_BLANK})
    user: str = Field(default="anonymous", min_length=1, max_length=100)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(json_schema_extra=TEXT)
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Makes a retry safe: a message id the session has already answered gets that answer "
        "again, and no second turn (whichever replica the retry reaches).",
    )


SESSION_LINKS = {  # OpenAPI links: what a client (and schemathesis's stateful phase) does with a new session
    name: {"operationId": operation, "parameters": {"session_id": "$response.body#/session_id"}}
    for name, operation in (("Answer", "send_message"), ("View", "get_session"))
}


@router.post(
    "/sessions",
    status_code=201,
    response_model=Reply,
    operation_id="start_session",
    responses={201: {"description": "The session and its opening question.", "links": SESSION_LINKS}},
)
async def start(body: StartSession, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> Reply:
    return await iv.start(trap_id=body.trap_id, topic=body.topic, user=body.user)


@router.post(
    "/sessions/{session_id}/messages",
    response_model=Reply,
    operation_id="send_message",
    responses={200: {"description": "The interviewer's reply.", "links": SESSION_LINKS}},
)
async def message(session_id: str, body: Message, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> Reply:
    return await iv.reply(session_id, body.message, message_id=body.message_id)


@router.get("/sessions/{session_id}", response_model=SessionView, operation_id="get_session")
async def session(session_id: str, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> SessionView:
    st = await iv.state(session_id)
    return SessionView.model_validate(
        {
            "session_id": session_id,
            "trap_id": st["trap_id"],
            "user": st.get("user"),
            "status": st["status"],
            "transcript": [{"role": t["role"], "content": t["content"], "kind": t["kind"]} for t in st["turns"]],
            "coverage": st.get("levels", {}),
            "hints": st.get("hints", []),
            "report": st.get("report"),
            "alternatives": st.get("alternatives", []),
        }
    )


@router.get("/users/{user}/progress", response_model=Progress)
def progress(user: str, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> Progress:
    return Progress.model_validate(iv.store.progress(user))


@router.post("/grade", response_model=Grade)
async def grade(
    body: Annotated[Answer, Body(description="An answer to a trap, to any question, or a whole transcript.")],
    settings: Annotated[Settings, Depends(deps.settings)],
    catalog: Annotated[Catalog, Depends(deps.catalog)],
    index: Annotated[TrapIndex, Depends(deps.index)],
    mode: Mode | None = None,
) -> Grade:
    """One answer, graded as a batch line would be; `mode` (llm or semantic) defaults to the settings'."""
    from service.grading.factory import make_grader

    grader = make_grader(settings=settings, mode=mode)
    item = await offload(resolve, body, "", catalog, index, settings.max_answer_chars)
    return await grade_of(item, grader, catalog)
