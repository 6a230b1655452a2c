"""The database: one way to open it, and its schema made by migrations.

SQLite in the data directory by default; Postgres when INTERVIEWER_DATABASE_URL names one, and then
every replica shares everything in it. The small stores' tables come from the Alembic migrations in
service/migrations (`interviewer db upgrade`, also run once per process before a store opens); the
checkpoint tables from LangGraph's own savers. A database that is locked, gone or unreachable is a
StorageError (`storage_errors`); on Postgres the connections are pooled and checked before use, so
the service works again as soon as the database is back, with no restart.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import InvalidInputError, StorageError

log = logging.getLogger(__name__)


def _unavailable() -> tuple[type[BaseException], ...]:
    """The errors that mean the database cannot serve now (locked, gone, unreachable), as opposed to a
    bug in a statement, which stays an error of its own."""
    errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.OperationalError, psycopg.InterfaceError)


UNAVAILABLE = _unavailable()


@contextmanager
def storage_errors(what: str = "the interview database") -> Iterator[None]:
    """Turns a database that cannot serve into a StorageError that says so; what the block was writing
    is not saved (each write is one transaction, and a turn's checkpoint is written once, at its end)."""
    try:
        yield
    except UNAVAILABLE as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise StorageError(f"{what} is unavailable ({reason}); nothing from this request was saved: try again") from exc


@contextmanager
def best_effort(consequence: str) -> Iterator[None]:
    """For a store that is only a saving (the grade cache, the call log): a database that cannot serve
    is logged with what is lost, and fails nothing."""
    try:
        yield
    except StorageError as exc:
        log.warning("%s; %s", exc.message, consequence)


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
    """The same file for async code (the interview checkpoints), closed when the block ends.

    Autocommit: LangGraph's saver runs its INSERT, then awaits its COMMIT, and a transaction left open
    across that await holds the file's write lock while the event loop runs other work. A store's
    write on the loop then waits on a lock only the loop can release, for the whole busy timeout,
    and fails (`evals/bench load-faults` lost turns to this). Each statement commits at once instead."""
    import aiosqlite

    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
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


POOL_TIMEOUT = 5.0  # seconds a statement waits for a connection before the database counts as gone


def postgres_pool(url: str) -> Any:
    """Pooled Postgres connections for sync code (the small stores), autocommitting; each is checked
    as it is taken, so one the server dropped is replaced instead of failing every later statement."""
    psycopg = _psycopg()
    from psycopg_pool import ConnectionPool

    with storage_errors("the session database"):
        psycopg.connect(url, connect_timeout=POOL_TIMEOUT).close()  # the server's own reason, not the pool's wait
        return ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            timeout=POOL_TIMEOUT,
            open=True,
        )


@asynccontextmanager
async def apostgres_pool(url: str) -> AsyncIterator[Any]:
    """The same for async code (the interview checkpoints), closed when the block ends."""
    async with aconnect_postgres(url, "the checkpoint database"):
        pass  # the server's own reason, not the pool's wait
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(  # as LangGraph's saver needs them: autocommit, dict rows, no prepared statements
        url,
        min_size=1,
        max_size=8,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=AsyncConnectionPool.check_connection,
        timeout=POOL_TIMEOUT,
        open=False,
    )
    with storage_errors("the checkpoint database"):
        await pool.open(wait=True, timeout=POOL_TIMEOUT)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def aconnect_postgres(url: str, what: str = "the interview database") -> AsyncIterator[Any]:
    """One Postgres connection of its own (a session lock's), closed when the block ends."""
    psycopg = _psycopg()
    from psycopg.rows import dict_row

    with storage_errors(what):
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=POOL_TIMEOUT
        )
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

    what = "the interview database"  # as its errors name it

    def __init__(self, settings: Settings) -> None:
        url = postgres_url(settings)
        with storage_errors(self.what):
            _ensure_upgraded(settings)
        self._pool = postgres_pool(url) if url else None
        self._sqlite = None if url else connect(settings.db_path)
        self._mark = "%s" if url else "?"
        self._lock = threading.RLock()  # re-entrant: a read-modify-write holds it across both statements

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection for one statement, committed after it; a database that cannot serve is a StorageError."""
        with self._lock, storage_errors(self.what):
            if self._pool is not None:
                with self._pool.connection() as conn:
                    yield conn
            else:
                assert self._sqlite is not None
                try:
                    yield self._sqlite
                    self._sqlite.commit()
                except BaseException:
                    self._sqlite.rollback()
                    raise

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Runs one statement and commits it; the number of rows it changed."""
        with self._connection() as conn:
            return int(conn.execute(sql.replace("?", self._mark), params).rowcount)

    def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement over many rows, in one transaction."""
        with self._connection() as conn:
            cur = conn.cursor()
            cur.executemany(sql.replace("?", self._mark), rows)
            cur.close()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows a query returns (an UPDATE … RETURNING too, committed)."""
        with self._connection() as conn:
            cur = conn.execute(sql.replace("?", self._mark), params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
