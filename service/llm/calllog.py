"""A log of every model call in SQLite: usage, latency, cost and the exchange itself."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from service.db import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    role TEXT NOT NULL,
    model TEXT NOT NULL,
    ok INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_ms REAL NOT NULL,
    cost_usd REAL,
    error TEXT,
    messages TEXT NOT NULL,
    response TEXT
)"""


@dataclass
class CallRecord:
    role: str
    model: str
    ok: bool
    attempt: int
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    messages: list[dict[str, Any]] | None = None
    response: str | None = None


class CallLog(SqliteStore):
    """Append-only; one connection per thread is unnecessary at this volume, so a lock suffices."""

    schema = _SCHEMA

    def add(self, record: CallRecord) -> None:
        row = asdict(record)
        row["messages"] = json.dumps(row["messages"] or [], ensure_ascii=False)
        row["ts"] = time.time()
        with self._lock:
            self._conn.execute(
                "INSERT INTO llm_calls (ts, role, model, ok, attempt, prompt_tokens, completion_tokens, latency_ms,"
                " cost_usd, error, messages, response) VALUES (:ts, :role, :model, :ok, :attempt, :prompt_tokens,"
                " :completion_tokens, :latency_ms, :cost_usd, :error, :messages, :response)",
                row,
            )
            self._conn.commit()

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM llm_calls ORDER BY id")
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
