"""The interviewer from Python: grade answers and run interviews from your own code.

    from interviewer import grade, Interviewer

    g = grade("Weight the fraud class by 10,000 and classify at 0.5.", trap_id="mlsd-35")
    g.score, g.verdict, g.fell_into_trap, [c.evidence for c in g.criteria]

    with Interviewer() as iv:
        r = iv.start(trap_id="mlsd-33")
        r = iv.reply(r.session_id, "Reservoir sampling: keep k, replace a random slot with probability k/n.")
        report = iv.report(r.session_id)

Settings come from the same INTERVIEWER_* variables as the service, or a Settings passed in; with
none, grading is semantic and the interviewer uses the embedded model (`mode="semantic"` asks the
cards' own questions, with no model at all). Every error is an InterviewerError (service.errors):
UnknownTrapError with the nearest ids, TooLargeError, InvalidInputError, ModelUnavailableError…

The Interviewer is synchronous, for scripts and notebooks without a running event loop; async code
uses `service.agent.session.Interviewer` (what this wraps) inside its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack
from typing import Any

from service.agent.report import Report
from service.agent.session import Reply
from service.config import Settings, get_settings
from service.errors import InterviewerError, InvalidInputError
from service.grading.models import Grade, Mode
from service.runtime import Runtime

__all__ = ["Grade", "Interviewer", "InterviewerError", "Report", "Reply", "Settings", "agrade", "grade"]

_runtimes: dict[str, Runtime] = {}
_lock = threading.Lock()


def _runtime(settings: Settings) -> Runtime:
    """One Runtime (catalog, index, embedder) per distinct settings, reused across calls."""
    key = settings.model_dump_json()
    with _lock:
        if key not in _runtimes:
            _runtimes[key] = Runtime.build(settings)
        return _runtimes[key]


def grade(
    answer: str,
    *,
    trap_id: str | None = None,
    question: str | None = None,
    reference_answer: str | None = None,
    mode: Mode | None = None,
    max_score: float | None = None,
    settings: Settings | None = None,
) -> Grade:
    """Grade one answer: against a trap's rubric (`trap_id`), or against a rubric derived from a
    reference answer (`question` and `reference_answer`). The same grade POST /grade gives."""
    return asyncio.run(
        agrade(
            answer,
            trap_id=trap_id,
            question=question,
            reference_answer=reference_answer,
            mode=mode,
            max_score=max_score,
            settings=settings,
        )
    )


async def agrade(
    answer: str,
    *,
    trap_id: str | None = None,
    question: str | None = None,
    reference_answer: str | None = None,
    mode: Mode | None = None,
    max_score: float | None = None,
    settings: Settings | None = None,
) -> Grade:
    """`grade` for code already in an event loop (an Inspect scorer, a web handler)."""
    from service.batch.records import ReferenceAnswer, TrapAnswer, resolve
    from service.batch.runner import grade_of
    from service.grading.factory import make_grader

    if (trap_id is None) == (question is None or reference_answer is None):
        raise InvalidInputError("give trap_id, or question and reference_answer (not both)")
    settings = settings or get_settings()
    rt = await asyncio.to_thread(_runtime, settings)  # built once per settings: seconds the first time
    form: TrapAnswer | ReferenceAnswer
    if trap_id is not None:
        form = TrapAnswer(trap_id=trap_id, answer=answer, max_score=max_score)
    else:
        assert question is not None and reference_answer is not None  # checked above
        form = ReferenceAnswer(question=question, reference_answer=reference_answer, answer=answer, max_score=max_score)
    item = resolve(form, "", rt.catalog, rt.index, settings.max_answer_chars)
    return await grade_of(item, make_grader(settings=settings, mode=mode), rt.catalog)


class Interviewer:
    """Mock interviews from code; a `with` block holds the sessions' database open."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or get_settings()
        self.settings = base.model_copy(update=overrides) if overrides else base
        self._runner: asyncio.Runner | None = None
        self._stack = AsyncExitStack()
        self._iv: Any = None

    def __enter__(self) -> Interviewer:
        from service.agent.session import Interviewer as Agent

        self._runner = asyncio.Runner()  # one loop for the block: the checkpointer's connection lives on it
        self._iv = self._runner.run(self._stack.enter_async_context(Agent.open(_runtime(self.settings))))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._runner.run(self._stack.aclose())
            self._runner.close()
            self._runner = None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._runner is None:
            raise InvalidInputError("use the Interviewer in a `with Interviewer() as iv:` block")
        return self._runner.run(getattr(self._iv, method)(*args, **kwargs))

    def start(self, *, trap_id: str | None = None, topic: str | None = None, user: str = "anonymous") -> Reply:
        """Open a session on a trap (by id, by topic, or one picked for `user`): the opening question."""
        return self._call("start", trap_id=trap_id, topic=topic, user=user)  # type: ignore[no-any-return]

    def reply(self, session_id: str, message: str) -> Reply:
        """Answer; the interviewer's next question (or, for "hint" or "finish", a hint or the report)."""
        return self._call("reply", session_id, message)  # type: ignore[no-any-return]

    def report(self, session_id: str) -> Report:
        """The graded report: the session is finished first if it is still going."""
        reply: Reply = self._call("resume", session_id)
        if reply.report is None:
            reply = self.reply(session_id, "finish")
        assert reply.report is not None  # a finished session always carries its report
        return reply.report
