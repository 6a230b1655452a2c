"""A log of every model call: usage, latency, cost and the exchange itself."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from service.db import Store, best_effort


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


class CallLog(Store):
    """Append-only; in the shared database when the settings name one, so every replica's calls are in one place."""

    _COLUMNS = (
        "ts",
        "role",
        "model",
        "ok",
        "attempt",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "cost_usd",
        "error",
        "messages",
        "response",
    )

    def add(self, record: CallRecord) -> None:
        row = asdict(record)
        row["messages"] = json.dumps(row["messages"] or [], ensure_ascii=False)
        row["ts"] = time.time()
        row["ok"] = int(row["ok"])
        cols = ", ".join(self._COLUMNS)
        marks = ", ".join("?" for _ in self._COLUMNS)
        with best_effort("this model call is not logged"):  # a record of the call, not the call
            self._execute(f"INSERT INTO llm_calls ({cols}) VALUES ({marks})", tuple(row[c] for c in self._COLUMNS))

    def rows(self, last: int | None = None) -> list[dict[str, Any]]:
        """Every call, oldest first; or only the `last` ones."""
        if last is None:
            return self._rows("SELECT * FROM llm_calls ORDER BY id")
        return self._rows("SELECT * FROM llm_calls ORDER BY id DESC LIMIT ?", (last,))[::-1]
