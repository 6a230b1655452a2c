"""The database: one way to open it, and its schema made by migrations.

SQLite in the data directory by default; Postgres when INTERVIEWER_DATABASE_URL names one, and then
every replica shares everything in it. The small stores' tables come from the Alembic migrations in
service/migrations (`interviewer db upgrade`, also run once per process before a store opens); the
checkpoint tables from LangGraph's own savers. psycopg errors become StorageError here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import InvalidInputError, StorageError

# WAL so readers never wait for the writer; WAL + NORMAL never corrupts the file (a power cut may
# lose the last commits, not a process crash).
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def connect(path: Path) -> sqlite3.Connection:
    """A connection usable from worker threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


@asynccontextmanager
async def aconnect(path: Path) -> AsyncIterator[Any]:
    """The same file for async code (the interview checkpoints), closed when the block ends."""
    import aiosqlite

    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path) as conn:
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        yield conn


def postgres_url(settings: Settings) -> str | None:
    """The Postgres URL the interview state lives at, or None for SQLite; any other URL is an error."""
    url = settings.database_url
    if url and not url.startswith(("postgres://", "postgresql://")):
        raise InvalidInputError(f"database_url must be a postgresql:// URL, not '{url.split(':')[0]}:'")
    return url or None


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise InvalidInputError("a Postgres database_url needs: pip install -e '.[postgres]'") from exc
    return psycopg


def connect_postgres(url: str) -> Any:
    """A Postgres connection for sync code (the session store), autocommitting."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise StorageError(f"cannot reach the session database: {exc}") from exc


@asynccontextmanager
async def aconnect_postgres(url: str) -> AsyncIterator[Any]:
    """A Postgres connection for async code (the interview checkpoints), closed when the block ends."""
    psycopg = _psycopg()
    from psycopg.rows import dict_row

    try:  # as LangGraph's saver needs it: autocommit, dict rows, no server-side prepared statements
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except psycopg.Error as exc:
        raise StorageError(f"cannot reach the checkpoint database: {exc}") from exc
    async with conn:
        yield conn


MIGRATIONS = Path(__file__).with_name("migrations")


def upgrade(settings: Settings, revision: str = "head") -> str:
    """Bring the database's schema to `revision` (the newest); returns the newest. Safe to run from many
    processes at once."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from service.locks import exclusive

    url = postgres_url(settings)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", "postgresql+psycopg://" + url.split("://", 1)[1].replace("%", "%%"))
        command.upgrade(config, revision)  # env.py serialises replicas with an advisory lock
    else:
        config.set_main_option("sqlalchemy.url", f"sqlite:///{settings.db_path}")
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(settings.db_path.with_name("migrate.lock")):
            command.upgrade(config, revision)
    return str(ScriptDirectory.from_config(config).get_current_head())


_upgraded: set[str] = set()  # the databases this process has brought up to date
_upgrading = threading.Lock()


def _ensure_upgraded(settings: Settings) -> None:
    key = postgres_url(settings) or str(settings.db_path)
    with _upgrading:
        if key not in _upgraded:
            upgrade(settings)
            _upgraded.add(key)


class Store:
    """Base of the small stores: a table or two over one connection and a lock, in the settings'
    database. Its SQL is written with `?` markers and ON CONFLICT clauses both databases accept."""

    def __init__(self, settings: Settings) -> None:
        url = postgres_url(settings)
        _ensure_upgraded(settings)
        self._conn = connect_postgres(url) if url else connect(settings.db_path)
        self._mark = "%s" if url else "?"
        self._lock = threading.RLock()  # re-entrant: a read-modify-write holds it across both statements

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Runs one statement and commits it; the number of rows it changed."""
        with self._lock:
            cur = self._conn.execute(sql.replace("?", self._mark), params)
            self._conn.commit()
            return int(cur.rowcount)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows a query returns (an UPDATE … RETURNING too, committed)."""
        with self._lock:
            cur = self._conn.execute(sql.replace("?", self._mark), params)
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
            self._conn.commit()
            return rows
