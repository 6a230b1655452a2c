"""One turn at a time per session: file locks on one host, Postgres advisory locks across hosts.

A double-click, or a REST message racing a WebSocket one, must not fork a transcript: both runs
would resume the same checkpoint. The service's workers are separate processes, so each session
has a lock file in the data dir, flock'd while one of its turns runs. When the interview state is
in Postgres, replicas on other machines share it, so the lock is taken there instead: a
session-level advisory lock, held by a connection of its own for the turn. A replica that dies
mid-turn drops its connection, and with it the lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Protocol

POLL_SECONDS = 0.05  # how often a turn waiting for its session tries again: only a double send waits


class SessionLocks(Protocol):
    def hold(self, session_id: str) -> AbstractAsyncContextManager[None]:
        """Held while one turn of the session runs; released when the block ends, raised or not."""
        ...


class FileLocks:
    """One flock'd file per session, under `directory`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def path(self, session_id: str) -> Path:
        # Named by a hash: a session id comes from a URL, and must not pick the file.
        return self.directory / f"{hashlib.sha256(session_id.encode()).hexdigest()[:32]}.lock"

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        fd = os.open(self.path(session_id), os.O_RDWR | os.O_CREAT, 0o644)
        try:  # each hold has its own descriptor, so two tasks of one process exclude each other too
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # Polled, not a blocking flock in a thread: a cancelled waiter leaves nothing behind.
                    await asyncio.sleep(POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


class AdvisoryLocks:
    """One Postgres advisory lock per session, keyed by a 64-bit hash of its id."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def key(session_id: str) -> int:
        return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big", signed=True)

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        from service.db import aconnect_postgres

        key = self.key(session_id)
        async with aconnect_postgres(self.url) as conn:  # closing it releases the lock, whatever happened
            while not (await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,))).fetchone())["got"]:
                await asyncio.sleep(POLL_SECONDS)  # polled, as the file locks are: a cancelled waiter holds nothing
            yield


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """A blocking lock on `path`, for start-up work that one process of the host does at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
