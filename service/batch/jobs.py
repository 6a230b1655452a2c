"""Batch jobs submitted over HTTP, kept in the data dir's SQLite file so a restart loses none.

A job is its id (which names its input and output files under data_dir/batch), its settings and its
progress. A service that starts finds the jobs a dead process left running and resumes them: the
batch runner skips the ids already graded in the output, so a resumed job only does what is left.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from service.db import Store
from service.grading.models import Mode

_EMPTY: dict[str, Any] = {"graded": 0, "errors": 0, "skipped": 0, "duplicates": []}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class BatchJobs(Store):
    # Not shared: a job's input and output files are in this replica's data dir, and its owner is a pid here.
    shared = False
    schema = (
        "CREATE TABLE IF NOT EXISTS batch_jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, mode TEXT,"
        " concurrency INTEGER NOT NULL, pid INTEGER NOT NULL, progress TEXT NOT NULL, created REAL NOT NULL)",
    )

    def add(self, job_id: str, mode: Mode | None, concurrency: int) -> None:
        self._execute(
            "INSERT INTO batch_jobs VALUES (?, 'running', ?, ?, ?, ?, ?)",
            (job_id, mode, concurrency, os.getpid(), json.dumps(_EMPTY), time.time()),
        )

    def update(self, job_id: str, state: str | None = None, **progress: Any) -> None:
        with self._lock:  # read and write as one step: progress updates of one job come from many tasks
            row = self._conn.execute("SELECT state, progress FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return
            merged = {**json.loads(row[1]), **progress}
            self._conn.execute(
                "UPDATE batch_jobs SET state = ?, progress = ? WHERE id = ?",
                (state or row[0], json.dumps(merged), job_id),
            )
            self._conn.commit()

    def get(self, job_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT id, state, progress FROM batch_jobs WHERE id = ?", (job_id,))
        return None if not rows else {"id": rows[0]["id"], "state": rows[0]["state"], **json.loads(rows[0]["progress"])}

    def orphans(self) -> list[tuple[str, Mode | None, int]]:
        """Jobs left running by a process that is gone, claimed by this one: (id, mode, concurrency), oldest first."""
        rows = self._rows("SELECT id, mode, concurrency, pid FROM batch_jobs WHERE state = 'running' ORDER BY created")
        dead = [r for r in rows if r["pid"] != os.getpid() and not _alive(r["pid"])]
        return [(r["id"], r["mode"], r["concurrency"]) for r in dead if self.claim(r["id"], r["pid"])]

    def claim(self, job_id: str, owner: int) -> bool:
        """Take over a job from its dead owner; False when another process took it first (the service's
        workers start together, and each looks for orphans)."""
        return (
            self._execute("UPDATE batch_jobs SET pid = ? WHERE id = ? AND pid = ?", (os.getpid(), job_id, owner)) == 1
        )


def paths(data_dir: Path, job_id: str) -> tuple[Path, Path]:
    folder = data_dir / "batch"
    return folder / f"{job_id}.in.jsonl", folder / f"{job_id}.out.jsonl"
