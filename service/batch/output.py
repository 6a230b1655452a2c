"""The output file: one JSON line per input line, appended whole, so a killed run never corrupts it.

After any number of runs it holds one record per input id (per line, for a line without one): the
latest. A re-run skips the ids already graded, reports again without re-trying a line that failed
for its own reason (bad JSON, an unknown trap, an empty answer) while that line is unchanged, and
re-tries the rest (a model's timeout or 5xx). Records a re-run superseded are dropped when it ends.
A disk that fills up stops the run with a StorageError; the file then ends at its last whole line,
and the same command run again goes on from there.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal, Protocol

from service.errors import StorageError

Settled = Literal["graded", "failed"] | None


def record_key(rid: str | None, line: int) -> str:
    """What a record stands for: its id, or its line when it has none."""
    return str(rid) if rid is not None else f"line {line}"


def _key(rec: dict[str, Any]) -> str:
    return record_key(None if rec.get("id") is None else str(rec["id"]), int(rec.get("line") or 0))


def input_sha(line: str) -> str:
    """The line a final error belongs to: an edited line is graded again."""
    return hashlib.sha256(line.strip().encode()).hexdigest()[:16]


class Sink(Protocol):
    """Where the runner writes: this file, or a job's results table (service/batch/jobs.py)."""

    def settled(self, key: str, line: str) -> Settled:
        """`graded` or a final `failed` when a re-run has nothing to do for the line; None to grade it."""
        ...

    def write(self, record: dict[str, Any], line: int) -> None: ...

    def close(self) -> None: ...


class Output:
    """Opens OUT for appending after reading what it already holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.graded: set[str] = set()
        self.final: dict[str, str] = {}  # key -> input_sha of a failure only an edit of its line can change
        self._seen: set[str] = set()
        self._superseded = 0
        if path.exists():
            self._scan()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size  # where the last whole line ends
        self._failed: StorageError | None = None

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
                self._note(rec)
        if good_bytes < self.path.stat().st_size:
            os.truncate(self.path, good_bytes)

    def _note(self, rec: dict[str, Any]) -> None:
        key = _key(rec)
        if key in self._seen:
            self._superseded += 1
        self._seen.add(key)
        self.graded.discard(key)
        self.final.pop(key, None)
        if "error" not in rec:
            self.graded.add(key)
        elif rec.get("input_sha"):
            self.final[key] = rec["input_sha"]

    def settled(self, key: str, line: str) -> Settled:
        if key in self.graded:
            return "graded"
        return "failed" if self.final.get(key) == input_sha(line) else None

    def write(self, record: dict[str, Any], line: int = 0) -> None:
        """Appends one whole line, or nothing: a write the disk cuts short is taken back, and this run stops."""
        if self._failed is not None:
            raise self._failed
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            written = 0
            while written < len(data):  # a full disk may take part of a line, then refuse the rest
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            os.ftruncate(self._fd, self._size)
            self._failed = StorageError(
                f"cannot write {self.path} ({exc.strerror}): it keeps its {self._size} bytes of whole lines;"
                " make room and run the same command again, which goes on from there"
            )
            raise self._failed from exc
        self._size += len(data)
        self._note(record)

    def close(self) -> None:
        if self._failed is not None:
            os.close(self._fd)
            return
        os.fsync(self._fd)
        os.close(self._fd)
        if self._superseded:
            compact(self.path)
            self._superseded = 0


def compact(path: Path) -> None:
    """Keep the latest record per key, streamed twice (memory grows with the ids, not the records); written
    aside and renamed over the file, so a crash leaves the old file or the new one, never half of either."""
    last: dict[str, int] = {}
    with path.open("rb") as fh:
        for i, raw in enumerate(fh):
            last[_key(json.loads(raw))] = i
    keep = set(last.values())
    tmp = path.with_name(path.name + ".tmp")
    try:
        with path.open("rb") as fh, tmp.open("wb") as out:
            for i, raw in enumerate(fh):
                if i in keep:
                    out.write(raw)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:  # no room for the copy: the file stays as it is, latest record last, and valid
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"cannot compact {path} ({exc.strerror}): its records are all there, with superseded ones;"
            " the next run that has room drops them"
        ) from exc
    os.replace(tmp, path)


def latest(path: Path) -> dict[str, dict[str, Any]]:
    """The last record per key (id, or line for a line without one)."""
    out: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[_key(rec)] = rec
    return out
