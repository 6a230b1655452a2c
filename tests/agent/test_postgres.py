"""Interview state in Postgres (INTERVIEWER_CHECKPOINT_URL): restart and resume.

.ci/run starts a local PostgreSQL and sets TEST_POSTGRES_URL; elsewhere this skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.agent.session import Interviewer
from service.config import Settings
from service.errors import InvalidInputError, StorageError
from service.runtime import Runtime

URL = os.environ.get("TEST_POSTGRES_URL")


@pytest.mark.skipif(not URL, reason="no PostgreSQL here (.ci/run provides one)")
async def test_postgres_restart_and_resume(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    own = settings.model_copy(update={"data_dir": tmp_path, "checkpoint_url": URL})
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


async def test_bad_checkpoint_urls(tmp_path: Path, settings: Settings) -> None:
    from service.agent.session import checkpointer

    with pytest.raises(InvalidInputError, match="must be a postgresql:// URL, not 'mysql:'"):
        async with checkpointer(settings.model_copy(update={"checkpoint_url": "mysql://x"})):
            pass
    with pytest.raises(StorageError, match="cannot reach the checkpoint database"):
        async with checkpointer(settings.model_copy(update={"checkpoint_url": "postgresql://nobody@127.0.0.1:1/none"})):
            pass
