"""The interviewer's own overhead per turn (model time excluded), and memory per live session.

Runs in llm mode against the loopback stub model (its own process) with a fixed latency, so the model's share of each
turn is known exactly: overhead = turn wall time - calls x latency.

This machine's speed drifts (the same code has measured 21 and 36 ms minutes apart), so the run also times one
embedder pass over a fresh 18-token sentence between sessions: the same work an answer turn does twice, as a yardstick
for comparing runs.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile
from service import runtime
from service.embeddings import embed
from service.llm.stub import StubProcess

LATENCY = 0.05
ANSWERS = [
    "I would weight the fraud class by ten thousand in the cross-entropy.",
    "The threshold matters more than the loss; I would calibrate it on a validation set.",
    "Can I get a hint?",
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(sessions: int = 60) -> dict[str, Any]:
    """Sessions alternate between the two ways a turn is served, so both are measured under the same conditions:
    whole replies (REST, Slack) and streamed tokens (WebSocket, terminal chat)."""
    from service.agent.session import Interviewer

    with tempfile.TemporaryDirectory() as tmp, StubProcess(LATENCY) as stub:
        settings = stub.settings(Path(tmp))
        iv = Interviewer(settings)
        warm = iv.start(trap_id="mlsd-35")
        iv.reply(warm.session_id, ANSWERS[0])  # embeds the card once, as a running service has
        runtime.settle()  # as `interviewer serve` does before it listens
        overheads: dict[bool, list[float]] = {False: [], True: []}
        yardstick: list[float] = []
        rss0 = _rss_mb()
        for i in range(sessions):
            tokens = i % 2 == 1
            start = time.perf_counter()
            embed([f"Yardstick {i}: the threshold matters more than the loss for the fraud class."])
            yardstick.append((time.perf_counter() - start) * 1000)
            reply = iv.start(trap_id="mlsd-35", user=f"bench-{i}")
            # Unseen text in every session, so the embedding memo cannot flatter the figure.
            for answer in (f"In session {i}, {a[0].lower()}{a[1:]}" for a in ANSWERS):
                before = stub.request_count()
                start = time.perf_counter()
                iv.reply(reply.session_id, answer, on_event=(lambda ev: None) if tokens else None)
                wall = time.perf_counter() - start
                overheads[tokens].append((wall - (stub.request_count() - before) * LATENCY) * 1000)
        rss1 = _rss_mb()
    return {
        "stub_latency_ms": LATENCY * 1000,
        "turns": sum(len(v) for v in overheads.values()),
        "overhead_p50_ms": round(percentile(overheads[False], 50), 2),
        "overhead_p99_ms": round(percentile(overheads[False], 99), 2),
        "streamed_overhead_p50_ms": round(percentile(overheads[True], 50), 2),
        "streamed_overhead_p99_ms": round(percentile(overheads[True], 99), 2),
        "embed_18_tokens_p50_ms": round(percentile(yardstick, 50), 2),
        "live_sessions": sessions,
        "peak_rss_growth_per_session_kb": round((rss1 - rss0) * 1024 / sessions, 1),
    }
