"""The SQLite file in the data directory: one way to open it, shared by every table that lives there."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import ClassVar


def connect(path: Path) -> sqlite3.Connection:
    """A connection usable from worker threads; WAL so readers never wait for the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL never corrupts the file; a power cut may lose the last commits, not a process crash.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SqliteStore:
    """Base of the small stores (sessions, call log, grade cache): its table, a connection, a lock."""

    schema: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.execute(self.schema)
        self._lock = threading.Lock()
