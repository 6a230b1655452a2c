"""Batch jobs submitted over HTTP, in the shared database so that any replica can finish one.

A job is a row (its settings, state and progress), its input lines and its results. The replica that
runs a job owns it under a lease it renews every few seconds; when the owner dies the lease runs out
and another replica (or the same service, restarted) claims the job with one conditional UPDATE,
which exactly one claimant wins. A resumed job skips the ids already graded, and a line's first good
result is never replaced, so every line is graded once in the results, whoever graded it.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from service.batch.output import Settled
from service.config import Settings
from service.db import Store
from service.errors import SessionError
from service.grading.models import Mode

_EMPTY: dict[str, Any] = {"graded": 0, "errors": 0, "skipped": 0, "duplicates": []}
PAGE = 500  # input lines read, or written, per statement


class BatchJobs(Store):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.lease = settings.batch_lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"  # this store's process

    def add_lines(self, job_id: str, lines: Iterable[str], start: int = 1) -> int:
        """Store input lines numbered from `start` (blank ones are kept, so numbers match the upload's)."""
        rows = [(job_id, n, line) for n, line in enumerate(lines, start)]
        self._executemany("INSERT INTO batch_lines VALUES (?, ?, ?)", rows)
        return start + len(rows)

    def drop(self, job_id: str) -> None:
        """Forget an upload that was refused part-way."""
        self._execute("DELETE FROM batch_lines WHERE job_id = ?", (job_id,))

    def lines(self, job_id: str) -> Iterator[str]:
        """The job's input lines in order, read a page at a time."""
        after = 0
        while rows := self._rows(
            "SELECT line_no, line FROM batch_lines WHERE job_id = ? AND line_no > ? ORDER BY line_no LIMIT ?",
            (job_id, after, PAGE),
        ):
            for row in rows:
                yield row["line"]
            after = rows[-1]["line_no"]

    def add(self, job_id: str, mode: Mode | None, concurrency: int) -> None:
        """The job, owned by this process from the start."""
        self._execute(
            "INSERT INTO batch_jobs (id, state, mode, concurrency, progress, created, owner, lease_until)"
            " VALUES (?, 'running', ?, ?, ?, ?, ?, ?)",
            (job_id, mode, concurrency, json.dumps(_EMPTY), time.time(), self.owner, time.time() + self.lease),
        )

    def update(self, job_id: str, state: str | None = None, **progress: Any) -> None:
        with self._lock:  # read and write as one step: progress updates of one job come from many tasks
            rows = self._rows("SELECT state, progress FROM batch_jobs WHERE id = ? AND owner = ?", (job_id, self.owner))
            if not rows:
                return  # not ours (any more): the replica that took it over reports its progress
            merged = {**json.loads(rows[0]["progress"]), **progress}
            self._execute(
                "UPDATE batch_jobs SET state = ?, progress = ? WHERE id = ?",
                (state or rows[0]["state"], json.dumps(merged), job_id),
            )

    def get(self, job_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT id, state, progress FROM batch_jobs WHERE id = ?", (job_id,))
        return None if not rows else {"id": rows[0]["id"], "state": rows[0]["state"], **json.loads(rows[0]["progress"])}

    def renew(self) -> dict[str, tuple[Mode | None, int]]:
        """Extend the leases of the running jobs this process owns: those it still owns, with the mode and
        concurrency to run each again if its task died."""
        rows = self._rows(
            "UPDATE batch_jobs SET lease_until = ? WHERE owner = ? AND state = 'running'"
            " RETURNING id, mode, concurrency",
            (time.time() + self.lease, self.owner),
        )
        return {r["id"]: (r["mode"], int(r["concurrency"])) for r in rows}

    def claim_expired(self) -> list[tuple[str, Mode | None, int]]:
        """Take the running jobs whose lease ran out: (id, mode, concurrency), oldest first. Not this
        process's own: a lease of ours that ran out while our loop stalled is renewed, not taken twice."""
        now = time.time()
        rows = self._rows(
            "SELECT id, mode, concurrency, owner FROM batch_jobs WHERE state = 'running' AND lease_until < ?"
            " AND COALESCE(owner, '') <> ? ORDER BY created",
            (now, self.owner),
        )
        won = []
        for r in rows:  # compare-and-set on the old owner: of the replicas that read this row, one wins
            if self._execute(
                "UPDATE batch_jobs SET owner = ?, lease_until = ? WHERE id = ? AND COALESCE(owner, '') = ?"
                " AND lease_until < ?",
                (self.owner, now + self.lease, r["id"], r["owner"] or "", now),
            ):
                won.append((r["id"], r["mode"], r["concurrency"]))
        return won

    def release(self) -> None:
        """Give up this process's running jobs at once (a clean stop): the next service takes them without
        waiting for their leases to run out."""
        self._execute("UPDATE batch_jobs SET lease_until = 0 WHERE owner = ? AND state = 'running'", (self.owner,))

    def graded_line(self, job_id: str, line_no: int) -> tuple[dict[str, Any], str]:
        """One line's result record and its input line (for a dispute)."""
        rows = self._rows(
            "SELECT r.record, l.line FROM batch_results r JOIN batch_lines l"
            " ON l.job_id = r.job_id AND l.line_no = r.line_no WHERE r.job_id = ? AND r.line_no = ?",
            (job_id, line_no),
        )
        if not rows:
            raise SessionError(f"batch job '{job_id}' has no result for line {line_no}")
        return json.loads(rows[0]["record"]), rows[0]["line"]

    def amend(self, job_id: str, line_no: int, record: dict[str, Any]) -> None:
        """Replace a line's result with its regraded record (an accepted dispute)."""
        self._execute(
            "UPDATE batch_results SET record = ? WHERE job_id = ? AND line_no = ?",
            (json.dumps(record), job_id, line_no),
        )

    def output(self, job_id: str) -> JobOutput:
        return JobOutput(self, job_id)

    def results(self, job_id: str) -> Iterator[dict[str, Any]]:
        """One record per input line, in input order."""
        after = float("-inf")
        while rows := self._rows(
            "SELECT line_no, record FROM batch_results WHERE job_id = ? AND line_no > ? ORDER BY line_no LIMIT ?",
            (job_id, after, PAGE),
        ):
            for row in rows:
                yield json.loads(row["record"])
            after = rows[-1]["line_no"]


class JobOutput:
    """The runner's output for a job: its results table (the same interface as batch.output.Output)."""

    def __init__(self, jobs: BatchJobs, job_id: str) -> None:
        self.jobs, self.job_id = jobs, job_id
        rows = jobs._rows("SELECT record_id FROM batch_results WHERE job_id = ? AND failed = 0", (job_id,))
        self.graded = {r["record_id"] for r in rows}

    def settled(self, key: str, line: str) -> Settled:
        return "graded" if key in self.graded else None  # one row per line already: every failure is retried

    def write(self, record: dict[str, Any], line: int) -> None:
        rid = record.get("id")
        # A line's first good result stands: a replica that lost its lease mid-line cannot grade it twice.
        self.jobs._execute(
            "INSERT INTO batch_results VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, line_no)"
            " DO UPDATE SET record = excluded.record, failed = excluded.failed WHERE batch_results.failed = 1",
            (self.job_id, line, None if rid is None else str(rid), int("error" in record), json.dumps(record)),
        )

    def close(self) -> None:
        pass
