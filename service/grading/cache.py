"""Grades cached by everything that determines them, so a re-grade costs nothing."""

from __future__ import annotations

import hashlib

from service.db import Store, best_effort
from service.grading.models import Grade


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


class GradeCache(Store):
    """Shared by every replica when the settings name a Postgres database. Only a saving: while the
    database is locked or gone, answers are graded afresh and the grades not kept, and nothing fails."""

    what = "the grade cache"

    def get(self, key: str) -> Grade | None:
        rows: list[dict[str, str]] = []
        with best_effort("grading without it"):
            rows = self._rows("SELECT grade FROM grade_cache WHERE key = ?", (key,))
        return Grade.model_validate_json(rows[0]["grade"]) if rows else None

    def put(self, key: str, grade: Grade) -> None:
        with best_effort("this grade is not cached"):
            self._execute(
                "INSERT INTO grade_cache (key, grade) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET grade = excluded.grade",
                (key, grade.model_dump_json()),
            )

    def __len__(self) -> int:
        return int(self._rows("SELECT COUNT(*) AS n FROM grade_cache")[0]["n"])
