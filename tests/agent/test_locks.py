"""One turn at a time per session, whichever thread or worker process runs it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from service.agent.locks import SessionLocks

HOLD = """
import sys
from pathlib import Path
from service.agent.locks import SessionLocks
with SessionLocks(Path(sys.argv[1])).hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _taken_in_thread(locks: SessionLocks, session_id: str) -> threading.Event:
    got = threading.Event()

    def take() -> None:
        with locks.hold(session_id):
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return got


def _other_stripe(locks: SessionLocks, session_id: str) -> str:
    return next(s for s in (f"other-{i}" for i in range(100)) if locks.path(s) != locks.path(session_id))


def test_a_session_held_by_another_process_waits_until_it_is_released(tmp_path: Path) -> None:
    locks = SessionLocks(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "s1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        assert _taken_in_thread(locks, _other_stripe(locks, "s1")).wait(5)  # other sessions go on
        waiting = _taken_in_thread(locks, "s1")
        assert not waiting.wait(0.5)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert waiting.wait(10)
    finally:
        holder.kill()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    locks = SessionLocks(tmp_path)
    with locks.hold("s1"):
        waiting = _taken_in_thread(locks, "s1")
        assert not waiting.wait(0.3)
    assert waiting.wait(5)


def test_a_run_that_raises_releases_its_session(tmp_path: Path) -> None:
    locks = SessionLocks(tmp_path)
    try:
        with locks.hold("s1"):
            raise RuntimeError("the model failed")
    except RuntimeError:
        pass
    assert _taken_in_thread(locks, "s1").wait(5)
