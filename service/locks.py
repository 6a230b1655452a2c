"""File locks in the data dir, held across the tasks and the worker processes of one host.

One run at a time per session: a double-click, or a REST message racing a WebSocket one, must
not fork a transcript: both runs would resume the same checkpoint. The service's workers are
separate processes, so each session has a lock file in the data dir, flock'd while one of its
turns runs. Across machines a lock in the shared database takes this one's place: `SessionLocks`
is the seam, one `hold` per turn.
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
