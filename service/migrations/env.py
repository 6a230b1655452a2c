"""Alembic's entry point: run the migrations on the URL `service.db.upgrade` passes in.

Replicas that start together each upgrade; on Postgres an advisory lock makes them take turns, and the
second finds nothing left to do (on SQLite `upgrade` holds a file lock instead).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

MIGRATION_LOCK = 7_141_512_030  # any fixed key: the one advisory lock every replica's upgrade takes

engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
with engine.begin() as connection:  # one transaction, committed at the end (and the lock's, on Postgres)
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
