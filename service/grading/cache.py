"""Grades cached in SQLite by everything that determines them, so a re-grade costs nothing."""

from __future__ import annotations

import hashlib

from service.db import SqliteStore
from service.grading.models import Grade


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


class GradeCache(SqliteStore):
    schema = "CREATE TABLE IF NOT EXISTS grade_cache (key TEXT PRIMARY KEY, grade TEXT NOT NULL)"

    def get(self, key: str) -> Grade | None:
        with self._lock:
            row = self._conn.execute("SELECT grade FROM grade_cache WHERE key = ?", (key,)).fetchone()
        return Grade.model_validate_json(row[0]) if row else None

    def put(self, key: str, grade: Grade) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO grade_cache (key, grade) VALUES (?, ?)", (key, grade.model_dump_json())
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM grade_cache").fetchone()[0])
