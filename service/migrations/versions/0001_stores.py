"""The small stores as they were before migrations: sessions, Slack state, grade cache, call log, batch jobs.

IF NOT EXISTS: a database made by an older version already has these tables, and is adopted as it is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    serial = "BIGSERIAL PRIMARY KEY" if op.get_bind().dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    op.execute(
        """CREATE TABLE IF NOT EXISTS interview_sessions (
            id TEXT PRIMARY KEY, "user" TEXT NOT NULL, trap_id TEXT NOT NULL, series TEXT NOT NULL,
            tags TEXT NOT NULL, status TEXT NOT NULL, score INTEGER, verdict TEXT,
            started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION)"""
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS slack_threads (channel TEXT, thread_ts TEXT, session_id TEXT NOT NULL,"
        " PRIMARY KEY (channel, thread_ts))"
    )
    op.execute("CREATE TABLE IF NOT EXISTS slack_events (event_id TEXT PRIMARY KEY, seen DOUBLE PRECISION)")
    op.execute("CREATE TABLE IF NOT EXISTS grade_cache (key TEXT PRIMARY KEY, grade TEXT NOT NULL)")
    op.execute(
        f"""CREATE TABLE IF NOT EXISTS llm_calls (
            id {serial}, ts DOUBLE PRECISION NOT NULL, role TEXT NOT NULL, model TEXT NOT NULL,
            ok INTEGER NOT NULL, attempt INTEGER NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,
            latency_ms DOUBLE PRECISION NOT NULL, cost_usd DOUBLE PRECISION, error TEXT,
            messages TEXT NOT NULL, response TEXT)"""
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS batch_jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, mode TEXT,"
        " concurrency INTEGER NOT NULL, pid INTEGER NOT NULL, progress TEXT NOT NULL, created REAL NOT NULL)"
    )
