"""One turn at a time per session, whichever task or worker process runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from service.locks import FileLocks

HOLD = """
import asyncio, sys
from pathlib import Path
from service.locks import FileLocks

async def main():
    async with FileLocks(Path(sys.argv[1])).hold(sys.argv[2]):
        print("held", flush=True)
        sys.stdin.readline()

asyncio.run(main())
"""


async def _taken(locks: FileLocks, session_id: str, within: float) -> bool:
    async def take() -> None:
        async with locks.hold(session_id):
            pass

    try:
        await asyncio.wait_for(take(), within)
        return True
    except TimeoutError:
        return False


async def test_a_session_held_by_another_process_waits_until_it_is_released(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "s1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "held"
        assert await _taken(locks, "s2", 5)  # other sessions go on
        assert not await _taken(locks, "s1", 0.5)
        waiting = asyncio.create_task(_taken(locks, "s1", 10))
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert await waiting
    finally:
        holder.kill()


async def test_tasks_of_one_process_take_turns_and_the_loop_runs_meanwhile(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    async with locks.hold("s1"):
        assert not await _taken(locks, "s1", 0.3)  # waited without blocking the loop:
    assert ticks > 10  # the ticker ran all along
    ticker.cancel()
    assert await _taken(locks, "s1", 5)


async def test_a_run_that_raises_or_a_waiter_that_is_cancelled_leaves_the_session_free(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path)
    try:
        async with locks.hold("s1"):
            raise RuntimeError("the model failed")
    except RuntimeError:
        pass
    async with locks.hold("s1"):
        assert not await _taken(locks, "s1", 0.2)  # this waiter is cancelled by the timeout
    assert await _taken(locks, "s1", 5)


def test_a_session_id_cannot_name_the_lock_file(tmp_path: Path) -> None:
    path = FileLocks(tmp_path).path("../../etc/passwd")
    assert path.parent == tmp_path and path.suffix == ".lock"
