"""Each user's sessions and scores, in the same database as the interview checkpoints.

SQLite in the data directory by default; the Postgres database when INTERVIEWER_DATABASE_URL
names one, so a deployment that moves its state to Postgres keeps its users' progress there too.
"""

from __future__ import annotations

import time
from typing import Any

from service.db import Store


class SessionStore(Store):
    """Each user's sessions, beside the checkpoints: in Postgres when the settings name it."""

    def started(self, session_id: str, user: str, trap_id: str, series: str, tags: list[str]) -> None:
        self._execute(
            'INSERT INTO interview_sessions (id, "user", trap_id, series, tags, status, started)'
            " VALUES (?, ?, ?, ?, ?, 'active', ?) ON CONFLICT (id) DO NOTHING",
            (session_id, user, trap_id, series, ",".join(tags), time.time()),
        )

    def finished(self, session_id: str, score: int, verdict: str) -> None:
        self._execute(
            "UPDATE interview_sessions SET status='finished', score=?, verdict=?, finished=? WHERE id=?",
            (score, verdict, time.time(), session_id),
        )

    def sessions(self, user: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, trap_id, series, tags, status, score, verdict, started, finished"
            ' FROM interview_sessions WHERE "user"=? ORDER BY started',
            (user,),
        )

    def progress(self, user: str) -> dict[str, Any]:
        """Average finished score per series and per tag, and which traps were seen."""
        rows = self.sessions(user)
        done = [r for r in rows if r["status"] == "finished" and r["score"] is not None]
        by_topic: dict[str, list[int]] = {}
        for r in done:
            for topic in [r["series"], *[t for t in r["tags"].split(",") if t]]:
                by_topic.setdefault(topic, []).append(r["score"])
        return {
            "user": user,
            "sessions": len(rows),
            "finished": len(done),
            "seen": sorted({r["trap_id"] for r in rows}),
            "by_topic": {
                k: {"mean_score": round(sum(v) / len(v), 1), "sessions": len(v)} for k, v in sorted(by_topic.items())
            },
            "history": [
                {k: r[k] for k in ("id", "trap_id", "status", "score", "verdict", "started", "finished")} for r in rows
            ],
        }
