"""One run at a time per session, across the threads and the worker processes of one host.

A double-click, or a REST message racing a WebSocket one, must not fork a transcript: both runs
would resume the same checkpoint. The service's workers are separate processes, so a thread lock
is not enough: the lock lives in the data dir, where every process on the host sees it.

On Linux each session locks its own byte of one file (an open-file-description lock: owned by the
descriptor, like flock, so two threads of one process exclude each other too), at an offset hashed
from the session id over 2^62 bytes: two sessions never wait for each other in practice. The
earlier scheme, whole-file flocks on 4,096 files, made two sessions that hashed alike wait for each
other's turns, model call included (seconds with the embedded model); with 50 live sessions the
odds that some pair shared a file were one in four. Where there are no OFD locks (macOS), that
scheme remains.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_OFD_SETLKW: int | None = getattr(fcntl, "F_OFD_SETLKW", None)
# struct flock in the platform's own layout: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks),
# padded to its alignment.
_FLOCK = "@hhqqi0q"
STRIPES = 4096  # files for the flock fallback


class SessionLocks:
    def __init__(self, directory: Path, byte_ranges: bool = _OFD_SETLKW is not None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.byte_ranges = byte_ranges

    def path(self, session_id: str) -> Path:
        if self.byte_ranges:
            return self.directory / "sessions.lock"
        return self.directory / f"{zlib.crc32(session_id.encode()) % STRIPES:04x}.lock"

    @staticmethod
    def offset(session_id: str) -> int:
        return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big") >> 2

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Blocks until this session is free. Each hold opens its own descriptor; closing it releases
        the lock, even if the run raised."""
        fd = os.open(self.path(session_id), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if self.byte_ranges:
                assert _OFD_SETLKW is not None
                lock = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, self.offset(session_id), 1, 0)
                fcntl.fcntl(fd, _OFD_SETLKW, lock)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
