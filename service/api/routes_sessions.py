"""Interview sessions over REST, each user's progress, and one-off grading."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.agent.session import Interviewer, Reply
from service.api import deps
from service.catalog import Catalog
from service.config import Settings
from service.grading.models import Grade
from service.grading.subject import Subject

router = APIRouter()


class StartSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trap_id: str | None = None
    topic: str | None = None
    user: str = Field(default="anonymous", min_length=1, max_length=100)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str


class GradeRequest(BaseModel):
    """Either a trap answer (trap_id + answer) or any question (question + reference_answer + answer)."""

    model_config = ConfigDict(extra="forbid")
    answer: str
    trap_id: str | None = None
    question: str | None = None
    reference_answer: str | None = None
    max_score: float | None = Field(default=None, gt=0)
    mode: str | None = Field(default=None, pattern="^(llm|semantic)$")

    @model_validator(mode="after")
    def _one_form(self) -> GradeRequest:
        if self.trap_id is None and (self.question is None or self.reference_answer is None):
            raise ValueError("give trap_id, or question and reference_answer")
        return self


@router.post("/sessions", status_code=201)
async def start(body: StartSession, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> Reply:
    return await iv.start(trap_id=body.trap_id, topic=body.topic, user=body.user)


@router.post("/sessions/{session_id}/messages")
async def message(session_id: str, body: Message, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> Reply:
    return await iv.reply(session_id, body.message)


@router.get("/sessions/{session_id}")
async def session(session_id: str, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> dict[str, Any]:
    st = await iv.state(session_id)
    return {
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


@router.get("/users/{user}/progress")
def progress(user: str, iv: Annotated[Interviewer, Depends(deps.interviewer)]) -> dict[str, Any]:
    return iv.store.progress(user)


@router.post("/grade")
async def grade(
    body: GradeRequest,
    settings: Annotated[Settings, Depends(deps.settings)],
    catalog: Annotated[Catalog, Depends(deps.catalog)],
) -> Grade:
    from service.grading.factory import make_grader
    from service.grading.reference import reference_subject

    grader = make_grader(settings=settings, mode=body.mode)  # type: ignore[arg-type]
    if body.trap_id is not None:
        subject = Subject.from_trap(catalog.get(body.trap_id))
    else:
        assert body.question is not None and body.reference_answer is not None
        subject = await reference_subject(body.question, body.reference_answer, llm=grader.llm, settings=settings)
    result = await grader.agrade(subject, body.answer)
    if body.max_score is not None:
        result = result.model_copy(update={"score_scaled": round(result.score / 100 * body.max_score, 2)})
    return result
