"""The SQLite file in the data directory: one way to open it, shared by every table that lives there."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

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


class SqliteStore:
    """Base of the small stores (sessions, call log, grade cache): its table, a connection, a lock."""

    schema: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.execute(self.schema)
        self._lock = threading.Lock()
