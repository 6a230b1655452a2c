"""The interviewer as callers see it: start a session, send a message, read it back."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from pydantic import BaseModel

from service import runtime
from service.agent.graph import Deps, Listener, Sink, State, build
from service.agent.locks import SessionLocks
from service.agent.moves import classify
from service.agent.store import open_store
from service.config import Settings
from service.db import connect
from service.errors import InvalidInputError, ModelError, SessionError, StorageError, TooLargeError
from service.grading import semantic
from service.grading.factory import make_grader, make_grader_or_semantic

log = logging.getLogger(__name__)


class Reply(BaseModel):
    session_id: str
    trap_id: str
    message: str
    status: str
    report: dict[str, Any] | None = None
    notices: list[str] = []
    # A session chosen by topic: the next closest traps ({trap_id, title}); start one by id to switch.
    alternatives: list[dict[str, str]] = []


def checkpointer(settings: Settings) -> Any:
    """SQLite in the data directory by default; Postgres when INTERVIEWER_CHECKPOINT_URL names one."""
    url = settings.checkpoint_url
    if url and url.startswith(("postgres://", "postgresql://")):
        try:
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise InvalidInputError("a Postgres checkpoint_url needs: pip install -e '.[postgres]'") from exc
        try:
            conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        except psycopg.Error as exc:
            raise StorageError(f"cannot reach the checkpoint database: {exc}") from exc
        saver = PostgresSaver(conn)
        saver.setup()
        return saver
    if url:
        raise InvalidInputError(f"checkpoint_url must be a postgresql:// URL, not '{url.split(':')[0]}:'")
    return SqliteSaver(connect(settings.db_path))


class Interviewer:
    """One per process: the graph's checkpoints and the session store share one database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        catalog = self.catalog = runtime.catalog(settings)
        self._notice: str | None = None
        llm = None
        if settings.mode == "llm":
            from service.llm.factory import make_llm

            try:
                llm = make_llm(settings=settings, role="ask")
            except ModelError as exc:
                self._notice = f"No model could be reached ({exc.message}); this interview runs in semantic mode."
                log.warning(self._notice)
        if self._notice:
            grader = make_grader(settings=settings, mode="semantic")
        else:
            grader, reason = make_grader_or_semantic(settings=settings)
            self._notice = reason
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = open_store(settings)
        index = runtime.index(settings)
        deps = Deps(settings, catalog, index, grader, llm, self.store, settings.max_follow_ups)
        self.graph = build(deps, checkpointer(settings))
        # Sessions run in parallel; one session runs one turn at a time, whichever worker has it.
        self._locks = SessionLocks(settings.data_dir / "locks")

    @property
    def mode(self) -> str:
        return "semantic" if self._notice or self.settings.mode == "semantic" else "llm"

    def _config(self, session_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": session_id}}

    def _check_message(self, message: str) -> str:
        if not isinstance(message, str) or not message.strip():
            raise InvalidInputError("the message is empty: type an answer, 'hint', or 'finish'")
        if len(message) > self.settings.max_answer_chars:
            raise TooLargeError(
                f"the message is {len(message):,} characters; the limit is {self.settings.max_answer_chars:,}"
            )
        return message

    def state(self, session_id: str) -> State:
        snap = self.graph.get_state(self._config(session_id))
        if not snap.values:
            raise SessionError(f"unknown session '{session_id}'")
        return snap.values  # type: ignore[no-any-return]

    def resume(self, session_id: str) -> Reply:
        """Where a session stands now: its last interviewer turn, status and report."""
        return self._reply(session_id, self.state(session_id))

    def _reply(self, session_id: str, st: State) -> Reply:
        last = next(t["content"] for t in reversed(st["turns"]) if t["role"] == "interviewer")
        notices = [n for n in [self._notice, *st.get("notices", [])] if n]
        return Reply(
            session_id=session_id,
            trap_id=st["trap_id"],
            message=last,
            status=st["status"],
            report=st.get("report"),
            notices=list(dict.fromkeys(notices)),
            alternatives=st.get("alternatives", []),
        )

    def start(
        self,
        *,
        trap_id: str | None = None,
        topic: str | None = None,
        user: str = "anonymous",
        on_event: Sink | None = None,
    ) -> Reply:
        """Open a session; `on_event` hears the interviewer's words as they come (see graph.Listener)."""
        if trap_id:
            runtime.catalog(self.settings).get(trap_id)  # unknown ids fail before a session exists
        if topic is not None and not topic.strip():
            raise InvalidInputError("empty topic: say what to practise, e.g. 'GPU memory'")
        session_id = uuid.uuid4().hex[:12]
        start = {"session_id": session_id, "user": user or "anonymous", "trap_id": trap_id, "topic": topic}
        with self._locks.hold(session_id):
            return self._run(start, session_id, on_event)

    def reply(self, session_id: str, message: str, on_event: Sink | None = None) -> Reply:
        """The interviewer's answer to one message: a follow-up, or the final report."""
        self._check_message(message)
        if classify(message) == "answer":
            # Its embedding starts now, on the other core, while the checkpoint loads and the graph
            # reaches the assess step that needs it.
            semantic.prepare(message)
        st = self.state(session_id)
        if st.get("status") == "finished":
            raise SessionError(f"session '{session_id}' has finished; start a new one")
        with self._locks.hold(session_id):
            return self._run(Command(resume=message), session_id, on_event)

    def _run(self, payload: Any, session_id: str, on_event: Sink | None) -> Reply:
        # One checkpoint per turn, written when the run stops at the next interrupt, ends or fails,
        # instead of one per node: a turn is one unit for the candidate (a crash mid-turn loses the
        # unanswered message, which the client still holds). Measured: 7.5 → 4.9 ms on a turn without
        # a model call.
        states = self.graph.stream(
            payload, self._config(session_id), stream_mode="values", durability="exit", context=Listener(on_event)
        )
        last = deque(states, maxlen=1)  # the state after the last step is the one checkpointed
        return self._reply(session_id, last[0] if last else self.state(session_id))
