"""The output file: one JSON line per input line, appended whole, so a killed run never corrupts it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol


class Sink(Protocol):
    """Where the runner writes: this file, or a job's results table (service/batch/jobs.py)."""

    graded: set[str]  # ids with a good result already: a re-run skips them

    def write(self, record: dict[str, Any], line: int) -> None: ...

    def close(self) -> None: ...


class Output:
    """Opens OUT for appending after reading which ids it already graded (a re-run skips those)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.graded: set[str] = set()
        self.failed: set[str] = set()
        if path.exists():
            self._scan()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _scan(self) -> None:
        good_bytes = 0
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a line cut by a kill: dropped below, re-graded this run
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError:
                    break
                good_bytes += len(raw)
                rid = str(rec.get("id"))
                if "error" in rec:
                    self.failed.add(rid)
                else:
                    self.graded.add(rid)
                    self.failed.discard(rid)
        if good_bytes < self.path.stat().st_size:
            os.truncate(self.path, good_bytes)

    def write(self, record: dict[str, Any], line: int = 0) -> None:
        # One write() of one whole line on an O_APPEND descriptor: the line lands entirely or not at all.
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)


def latest(path: Path) -> dict[str, dict[str, Any]]:
    """The last record per id: a re-run appends fresh grades after the errors they replace."""
    out: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[str(rec.get("id"))] = rec
    return out
