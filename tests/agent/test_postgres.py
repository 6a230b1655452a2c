"""Interview state in Postgres (INTERVIEWER_DATABASE_URL): restart and resume, and replicas that
share it (each with its own data dir, standing for another machine) taking turns on one session.

.ci/run starts a local PostgreSQL and sets TEST_POSTGRES_URL; elsewhere this skips.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from service.agent.session import Interviewer
from service.catalog import Catalog
from service.config import Settings
from service.errors import InvalidInputError, StorageError
from service.runtime import Runtime

URL = os.environ.get("TEST_POSTGRES_URL")


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
async def test_postgres_restart_and_resume(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    own = settings.model_copy(update={"data_dir": tmp_path, "database_url": URL})
    async with Interviewer.open(Runtime.build(own)) as first:
        reply = await first.start(trap_id="mlsd-33", user="pg-user")
        await first.reply(reply.session_id, "Reservoir sampling keeps k items and replaces one with probability k/n.")
    async with Interviewer.open(Runtime.build(own)) as again:
        turns = (await again.state(reply.session_id))["turns"]
        assert [t["role"] for t in turns] == ["interviewer", "candidate", "interviewer"]
        assert (await again.reply(reply.session_id, "finish")).status == "finished"
    # The user's progress lives in the same Postgres database, not in a SQLite file beside it.
    import psycopg

    with psycopg.connect(URL) as conn:
        row = conn.execute("SELECT status, score FROM interview_sessions WHERE id=%s", (reply.session_id,)).fetchone()
    assert row is not None and row[0] == "finished"
    history = again.store.progress("pg-user")["history"]
    assert [h["id"] for h in history if h["id"] == reply.session_id] == [reply.session_id]


async def test_bad_database_urls(tmp_path: Path, settings: Settings) -> None:
    from service.agent.session import checkpointer

    with pytest.raises(InvalidInputError, match="must be a postgresql:// URL, not 'mysql:'"):
        async with checkpointer(settings.model_copy(update={"database_url": "mysql://x"})):
            pass
    with pytest.raises(StorageError, match=r"checkpoint database is unavailable \(connection failed: .*refused"):
        async with checkpointer(settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})):
            pass


def test_the_old_setting_name_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_CHECKPOINT_URL", "postgresql://db-host/interviewer")
    assert Settings().database_url == "postgresql://db-host/interviewer"


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
async def test_a_session_runs_one_turn_at_a_time_across_replicas() -> None:
    import asyncio

    from service.locks import AdvisoryLocks

    assert URL is not None
    first, second = AdvisoryLocks(URL), AdvisoryLocks(URL)  # two replicas: nothing shared but the database
    entered = asyncio.Event()

    async def other_replica(session_id: str) -> None:
        async with second.hold(session_id):
            entered.set()

    async with first.hold("s-1"):
        waiting = asyncio.create_task(other_replica("s-1"))
        await asyncio.sleep(0.5)
        assert not entered.is_set()  # the same session waits for the turn in progress
        async with second.hold("s-2"):  # another session does not
            pass
    await asyncio.wait_for(waiting, 5)
    assert entered.is_set()


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
async def test_one_interview_alternates_between_two_replicas(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """Messages of one session go to either replica, one of them twice at the same moment: every turn
    resumes the checkpoint the one before wrote, so none is lost or forked."""
    import asyncio

    replicas = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
        replicas.append(settings.model_copy(update={"data_dir": tmp_path / name, "database_url": URL}))
    async with Interviewer.open(Runtime.build(replicas[0])) as a, Interviewer.open(Runtime.build(replicas[1])) as b:
        reply = await a.start(trap_id="mlsd-33", user="pg-replicas")
        await b.reply(reply.session_id, "Reservoir sampling keeps k items.")
        await asyncio.gather(
            a.reply(reply.session_id, "Each new event replaces a random slot with probability k/n."),
            b.reply(reply.session_id, "So every event is kept with probability k/n at the end."),
        )
        retried = "The proof is by induction on the number of events."
        await asyncio.gather(  # one message, delivered to both replicas at once: one turn
            a.reply(reply.session_id, retried, message_id="m-7"), b.reply(reply.session_id, retried, message_id="m-7")
        )
        turns = (await a.state(reply.session_id))["turns"]
    roles = [t["role"] for t in turns]
    assert roles == ["interviewer", *["candidate", "interviewer"] * 4]


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
def test_replicas_share_slack_state_the_grade_cache_and_the_call_log(
    tmp_path: Path, settings: Settings, catalog: Catalog
) -> None:
    """A Slack retry that reaches another replica is still a no-op; a grade cached by one is a hit on the
    other; both replicas' model calls are in one log."""
    import uuid

    from service.grading.cache import GradeCache
    from service.llm.calllog import CallLog, CallRecord
    from service.slack import SlackState

    a, b = (settings.model_copy(update={"data_dir": tmp_path / n, "database_url": URL}) for n in ("a", "b"))
    tag = uuid.uuid4().hex
    assert SlackState(a).first_time(f"Ev-{tag}") and not SlackState(b).first_time(f"Ev-{tag}")
    SlackState(a).bind("C1", tag, "session-1")
    SlackState(b).bind("C1", tag, "session-2")  # a thread rebound: the last binding stands, everywhere
    assert SlackState(a).session("C1", tag) == "session-2"

    from service.grading.factory import make_grader
    from service.grading.subject import Subject

    subject = Subject.from_trap(catalog.get("mlsd-33"))
    answer = f"Reservoir sampling keeps k events and replaces a random slot with probability k/n ({tag})."
    before = len(GradeCache(a))
    graded = make_grader(settings=a, mode="semantic").grade(subject, answer)
    assert len(GradeCache(b)) == before + 1  # stored where the other replica reads
    assert make_grader(settings=b, mode="semantic").grade(subject, answer) == graded
    assert len(GradeCache(a)) == before + 1  # a hit: nothing new stored

    CallLog(a).add(CallRecord(role="ask", model=f"m-{tag}", ok=True, attempt=0, latency_ms=1.0))
    assert [r["model"] for r in CallLog(b).rows() if r["model"] == f"m-{tag}"] == [f"m-{tag}"]


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
async def test_replicas_share_disputes_one_open_per_decision(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """A dispute filed on one replica is seen, refused a twin, and settled on the other; the regraded
    report is what the first replica then reads."""
    from service.batch.jobs import BatchJobs
    from service.disputes import DisputeIn, Disputes, Settle
    from service.errors import ConflictError
    from service.grades import StoredGrades, session_target

    replicas = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
        replicas.append(settings.model_copy(update={"data_dir": tmp_path / name, "database_url": URL}))
    a_settings, b_settings = replicas
    answer = "Reservoir sampling keeps k items and replaces a random slot with probability k/n."
    async with Interviewer.open(Runtime.build(a_settings)) as a, Interviewer.open(Runtime.build(b_settings)) as b:
        reply = await a.start(trap_id="mlsd-33", user="pg-disputes")
        await a.reply(reply.session_id, answer)
        await a.reply(reply.session_id, "finish")
        target = session_target(reply.session_id)
        on_a = StoredGrades(a, BatchJobs(a_settings), Disputes(a_settings))
        on_b = StoredGrades(b, BatchJobs(b_settings), Disputes(b_settings))
        decision = next(d for d in await on_a.decisions(target) if d.decided in ("0/2", "1/2", "missing", "partly"))
        filed = await on_a.file(target, DisputeIn(decision=decision.number, sentence=answer, reason="it is there"))
        assert [d.id for d in await asyncio.to_thread(on_b.disputes.of, target)] == [filed.id]
        with pytest.raises(ConflictError):
            await on_b.file(target, DisputeIn(decision=decision.number, sentence=answer))
        await on_b.accept(filed.id, Settle(reviewer="pg"))
        report = (await a.resume(reply.session_id)).report
        assert report is not None and report.score == filed.score_if and report.grade is not None
        assert filed.id in report.grade.amendments[0]
