"""One run at a time per session, across the threads and the worker processes of one host.

A double-click, or a REST message racing a WebSocket one, must not fork a transcript: both runs
would resume the same checkpoint. The service's workers are separate processes, so a thread lock
is not enough; an flock on a file in the data dir is seen by every process on the host. Sessions
hash onto a fixed set of lock files, so files do not pile up one per session; two sessions share a
file with odds 1 in STRIPES, and then one waits for the other's turn (tens of milliseconds).
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STRIPES = 4096


class SessionLocks:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def path(self, session_id: str) -> Path:
        return self.directory / f"{zlib.crc32(session_id.encode()) % STRIPES:04x}.lock"

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Blocks until this session is free. Each hold opens its own descriptor, so two threads of
        one process exclude each other too; closing it releases the lock, even if the run raised."""
        fd = os.open(self.path(session_id), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
