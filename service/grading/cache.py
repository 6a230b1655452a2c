"""Grades cached by everything that determines them, so a re-grade costs nothing."""

from __future__ import annotations

import hashlib

from service.db import Store
from service.grading.models import Grade


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


class GradeCache(Store):
    """Shared by every replica when the settings name a Postgres database."""

    def get(self, key: str) -> Grade | None:
        rows = self._rows("SELECT grade FROM grade_cache WHERE key = ?", (key,))
        return Grade.model_validate_json(rows[0]["grade"]) if rows else None

    def put(self, key: str, grade: Grade) -> None:
        self._execute(
            "INSERT INTO grade_cache (key, grade) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET grade = excluded.grade",
            (key, grade.model_dump_json()),
        )

    def __len__(self) -> int:
        return int(self._rows("SELECT COUNT(*) AS n FROM grade_cache")[0]["n"])
