"""The interviewer as callers see it: start a session, send a message, read it back."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

from langgraph.types import Command
from pydantic import BaseModel, Field

from service.agent.graph import Context, Deps, State, build, candidate_text
from service.agent.report import Report, graded
from service.agent.store import SessionStore
from service.config import Settings
from service.db import aconnect, apostgres_pool, postgres_url, storage_errors
from service.errors import InvalidInputError, ModelError, SessionError
from service.grading.factory import make_grader, make_grader_or_semantic
from service.grading.grader import check_answer
from service.grading.models import Grade, Mode
from service.locks import AdvisoryLocks, FileLocks, SessionLocks
from service.runtime import Runtime

if TYPE_CHECKING:
    from service.catalog import Trap

log = logging.getLogger(__name__)
# What a run streams: {"type": "delta"|"interviewer", "text"} as the interviewer speaks, then
# {"type": "final", "reply": Reply}.
Event = dict[str, Any]


class Reply(BaseModel):
    session_id: str
    trap_id: str
    message: str
    status: Literal["active", "finished"]
    report: Report | None = None
    notices: list[str] = []
    # A session chosen by topic: the next closest traps ({trap_id, title}); start one by id to switch.
    alternatives: list[dict[str, str]] = []
    follow_ups: int = Field(default=0, description="Follow-up questions asked so far.")
    max_follow_ups: int = Field(default=3, description="Follow-ups before the report (INTERVIEWER_MAX_FOLLOW_UPS).")


@asynccontextmanager
async def checkpointer(settings: Settings) -> AsyncIterator[Any]:
    """SQLite in the data directory by default; Postgres when INTERVIEWER_DATABASE_URL names one."""
    url = postgres_url(settings)
    if url:
        async with apostgres_pool(url) as pool:
            try:
                from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
            except ImportError as exc:
                raise InvalidInputError("a Postgres database_url needs: pip install -e '.[postgres]'") from exc
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            with storage_errors("the checkpoint database"):
                await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with aconnect(settings.db_path) as conn:
        yield AsyncSqliteSaver(conn)


class Interviewer:
    """One per process: the graph's checkpoints and the session store share one database.

    Opened with `async with Interviewer.open(runtime) as iv:`, inside the event loop that uses it.
    """

    def __init__(self, runtime: Runtime, saver: Any, store: SessionStore) -> None:
        settings = self.settings = runtime.settings
        self.catalog = runtime.catalog
        self.index = runtime.index
        self.store = store
        self._notice: str | None = None
        llm = None
        # The embedded model asks only when told to: its turns have not beaten the cards' questions
        # (evals/turns). A configured model (a provider, or a server at api_base) phrases them.
        if settings.mode == "llm" and (settings.model or settings.local_asks):
            from service.llm.factory import make_llm

            try:
                llm = make_llm(settings=settings, role="ask")
            except ModelError as exc:
                self._notice = f"No model could be reached ({exc.message}); this interview runs in semantic mode."
                log.warning(self._notice)
        semantic = make_grader(settings=settings, mode="semantic")
        if self._notice:
            grader = semantic
        else:
            grader, reason = make_grader_or_semantic(settings=settings)
            self._notice = reason
        self._deps = Deps(settings, self.catalog, self.index, grader, llm, store, semantic, settings.max_follow_ups)
        self.graph = build(saver)
        # Sessions run in parallel; one session runs one turn at a time, whichever worker has it.
        url = postgres_url(settings)
        self._locks: SessionLocks = AdvisoryLocks(url) if url else FileLocks(settings.data_dir / "locks")

    @classmethod
    @asynccontextmanager
    async def open(cls, runtime: Runtime) -> AsyncIterator[Interviewer]:
        settings = runtime.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        async with checkpointer(settings) as saver:
            iv = cls(runtime, saver, SessionStore(settings))
            try:
                yield iv
            finally:
                for task in list(iv._deps.background):
                    task.cancel()

    @property
    def mode(self) -> Mode:
        return "semantic" if self._notice or self.settings.mode == "semantic" else "llm"

    def _config(self, session_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": session_id}}

    def _check_message(self, message: str) -> str:
        return check_answer(message, self.settings.max_answer_chars, "message", "type an answer, 'hint', or 'finish'")

    async def state(self, session_id: str) -> State:
        with storage_errors():
            snap = await self.graph.aget_state(self._config(session_id))
        if not snap.values:
            raise SessionError(f"unknown session '{session_id}'")
        return snap.values  # type: ignore[no-any-return]

    async def resume(self, session_id: str) -> Reply:
        """Where a session stands now: its last interviewer turn, status and report."""
        return self._reply(session_id, await self.state(session_id))

    async def graded(self, session_id: str) -> tuple[Trap, Report, str]:
        """A finished session's trap, report and the answer its grade read (for a dispute)."""
        st = await self.state(session_id)
        if st.get("status") != "finished" or st.get("report") is None:
            raise SessionError(f"session '{session_id}' has no report yet: disputes come after it")
        report = Report.model_validate(st["report"])
        if report.grade is None:
            raise SessionError(f"session '{session_id}' was not graded: the candidate gave no answer")
        return self.catalog.get(st["trap_id"]), report, candidate_text(st)[-self.settings.max_answer_chars :]

    async def amend(self, session_id: str, grade: Grade) -> Report:
        """Store a regraded report (an accepted dispute) as the session's own: a new checkpoint, under the
        session's lock, so every replica and every later read sees it."""
        with storage_errors():
            async with self._locks.hold(session_id):
                trap, report, _ = await self.graded(session_id)
                report = report.model_copy(update=graded(trap, grade, len(report.hints)))
                update = {"report": report.model_dump()}
                await self.graph.aupdate_state(self._config(session_id), update, as_node="report")
            await asyncio.to_thread(self.store.finished, session_id, report.score, report.verdict)
        return report

    def _reply(self, session_id: str, st: State) -> Reply:
        last = next(t["content"] for t in reversed(st["turns"]) if t["role"] == "interviewer")
        notices = [n for n in [self._notice, *st.get("notices", [])] if n]
        report = st.get("report")  # plain data in the checkpoint
        return Reply(
            session_id=session_id,
            trap_id=st["trap_id"],
            message=last,
            status=st["status"],
            report=Report.model_validate(report) if report is not None else None,
            notices=list(dict.fromkeys(notices)),
            alternatives=st.get("alternatives", []),
            follow_ups=st.get("follow_ups", 0),
            max_follow_ups=self.settings.max_follow_ups,
        )

    async def start(self, *, trap_id: str | None = None, topic: str | None = None, user: str = "anonymous") -> Reply:
        """Open a session; the interviewer's words come whole, in the reply."""
        return await _final(self.stream_start(trap_id=trap_id, topic=topic, user=user, listening=False))

    async def reply(self, session_id: str, message: str, message_id: str | None = None) -> Reply:
        """The interviewer's answer to one message: a follow-up, or the final report."""
        return await _final(self.stream_reply(session_id, message, listening=False, message_id=message_id))

    async def stream_start(
        self, *, trap_id: str | None = None, topic: str | None = None, user: str = "anonymous", listening: bool = True
    ) -> AsyncIterator[Event]:
        """Open a session, streaming the interviewer's words as they come (see Event)."""
        if trap_id:
            self.catalog.get(trap_id)  # unknown ids fail before a session exists
        if topic is not None and not topic.strip():
            raise InvalidInputError("empty topic: say what to practise, e.g. 'GPU memory'")
        session_id = uuid.uuid4().hex[:12]
        start = {"session_id": session_id, "user": user or "anonymous", "trap_id": trap_id, "topic": topic}
        async for event in self._run(start, session_id, listening):
            yield event

    async def stream_reply(
        self, session_id: str, message: str, listening: bool = True, message_id: str | None = None
    ) -> AsyncIterator[Event]:
        """The interviewer's answer to one message, streamed as it comes (see Event). A `message_id`
        the session has answered already gets the session as it stands, and runs no turn."""
        self._check_message(message)
        st = await self.state(session_id)
        if st.get("status") == "finished" and message_id not in st.get("message_ids", []):
            raise SessionError(f"session '{session_id}' has finished; start a new one")
        resume: Command[Any] = Command(resume={"text": message, "id": message_id})
        async for event in self._run(resume, session_id, listening, message_id):
            yield event

    async def _run(
        self, payload: Any, session_id: str, listening: bool, message_id: str | None = None
    ) -> AsyncIterator[Event]:
        last: State | None = None
        # A database that is locked or gone fails the turn before its checkpoint is written: the session
        # stays at its last good turn, and the same message (or its message_id) can be sent again.
        with storage_errors():
            async with self._locks.hold(session_id):
                if message_id is not None and message_id in (await self.state(session_id)).get("message_ids", []):
                    # Read under the lock: a retry that raced its original waited for it, and now finds it done.
                    yield {"type": "final", "reply": await self.resume(session_id)}
                    return
                # One checkpoint per turn, written when the run stops at the next interrupt, ends or fails:
                # a turn is one unit for the candidate (a crash mid-turn loses the unanswered message,
                # which the client still holds).
                async for mode, chunk in self.graph.astream(
                    payload,
                    self._config(session_id),
                    stream_mode=["custom", "values"],
                    durability="exit",
                    context=Context(self._deps, listening),
                ):
                    if mode == "custom":
                        yield chunk
                    else:
                        last = chunk
                st = last if last is not None else await self.state(session_id)
        yield {"type": "final", "reply": self._reply(session_id, st)}


async def _final(events: AsyncIterator[Event]) -> Reply:
    async for event in events:
        if event["type"] == "final":
            return event["reply"]  # type: ignore[no-any-return]
    raise AssertionError("a run always ends with its reply")
