"""One turn at a time per session, whichever thread or worker process runs it."""

from __future__ import annotations

import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from service.agent.locks import STRIPES, SessionLocks

HOLD = """
import sys
from pathlib import Path
from service.agent.locks import SessionLocks
with SessionLocks(Path(sys.argv[1]), byte_ranges=sys.argv[3] == "1").hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""
# Both ways are exercised here: byte-range locks (Linux) and the striped flocks used elsewhere.
pytestmark = pytest.mark.parametrize("byte_ranges", [True, False], ids=["byte-ranges", "stripes"])


def _taken_in_thread(locks: SessionLocks, session_id: str) -> threading.Event:
    got = threading.Event()

    def take() -> None:
        with locks.hold(session_id):
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return got


def _other_stripe(locks: SessionLocks, session_id: str) -> str:
    return next(s for s in (f"other-{i}" for i in range(100)) if locks.path(s) != locks.path(session_id))


def test_a_session_held_by_another_process_waits_until_it_is_released(tmp_path: Path, byte_ranges: bool) -> None:
    locks = SessionLocks(tmp_path, byte_ranges)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "s1", "1" if byte_ranges else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        other = "s2" if byte_ranges else _other_stripe(locks, "s1")
        assert _taken_in_thread(locks, other).wait(5)  # other sessions go on
        waiting = _taken_in_thread(locks, "s1")
        assert not waiting.wait(0.5)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert waiting.wait(10)
    finally:
        holder.kill()


def test_threads_of_one_process_take_turns(tmp_path: Path, byte_ranges: bool) -> None:
    locks = SessionLocks(tmp_path, byte_ranges)
    with locks.hold("s1"):
        waiting = _taken_in_thread(locks, "s1")
        assert not waiting.wait(0.3)
    assert waiting.wait(5)


def test_a_run_that_raises_releases_its_session(tmp_path: Path, byte_ranges: bool) -> None:
    locks = SessionLocks(tmp_path, byte_ranges)
    try:
        with locks.hold("s1"):
            raise RuntimeError("the model failed")
    except RuntimeError:
        pass
    assert _taken_in_thread(locks, "s1").wait(5)


def test_sessions_that_share_a_stripe_wait_for_each_other_only_with_stripes(tmp_path: Path, byte_ranges: bool) -> None:
    """Two session ids that land on the same one of the 4,096 files: striped flocks make one wait for
    the other's whole turn; byte-range locks keep them apart."""
    seen: dict[int, str] = {}
    for i in range(STRIPES + 1):  # pigeonhole: two of these share a stripe
        sid = f"session-{i}"
        stripe = zlib.crc32(sid.encode()) % STRIPES
        if stripe in seen:
            first, second = seen[stripe], sid
            break
        seen[stripe] = sid
    locks = SessionLocks(tmp_path, byte_ranges)
    with locks.hold(first):
        assert _taken_in_thread(locks, second).wait(0.5 if not byte_ranges else 5) is byte_ranges
