"""The interviewer's own overhead per turn (model time excluded), and memory per live session.

Runs in llm mode against the loopback stub model (its own process) with a fixed latency, so the model's share of each
turn is known exactly: overhead = turn wall time - calls x latency.

This machine's speed drifts (the same code has measured 21 and 36 ms minutes apart), so the run also times one
embedder pass over a fresh 18-token sentence between sessions: the same work an answer turn does twice, as a yardstick
for comparing runs.

It also prints the floor under an answer turn, in the same run: litellm's own work for one call (against the stub
with no latency, so all of it is client side), the yardstick (embedding the candidate's sentence), and a hint turn
(LangGraph's steps and the checkpoint, with neither model nor embedder in it). An answer turn needs all three.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile
from service.embeddings import embed
from service.llm.client import LLM
from service.llm.factory import endpoints_for
from service.llm.stub import StubProcess
from service.runtime import Runtime

LATENCY = 0.05
ANSWERS = [
    "I would weight the fraud class by ten thousand in the cross-entropy.",
    "The threshold matters more than the loss; I would calibrate it on a validation set.",
    "Can I get a hint?",
]
HINT = len(ANSWERS) - 1
Overheads = dict[tuple[bool, bool], list[float]]  # (tokens streamed, a hint turn) -> overhead per turn, ms


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(stub: StubProcess, sessions: int, yardstick: list[float], tag: str) -> tuple[Overheads, float]:
    """Per-turn overheads by whether the tokens streamed and whether it was a hint, and the RSS growth per live
    session (KB)."""
    return asyncio.run(_ameasure(stub, sessions, yardstick, tag))


async def _ameasure(stub: StubProcess, sessions: int, yardstick: list[float], tag: str) -> tuple[Overheads, float]:
    from service.agent.session import Interviewer

    with tempfile.TemporaryDirectory() as tmp:
        async with Interviewer.open(Runtime.build(stub.settings(Path(tmp)))) as iv:
            warm = await iv.start(trap_id="mlsd-35")
            await iv.reply(warm.session_id, ANSWERS[0])
            return await _sessions(iv, stub, sessions, yardstick, tag)


async def _sessions(
    iv: Any, stub: StubProcess, sessions: int, yardstick: list[float], tag: str
) -> tuple[Overheads, float]:
    overheads: Overheads = {(t, h): [] for t in (False, True) for h in (False, True)}
    rss0 = _rss_mb()
    for i in range(sessions):
        tokens = i % 2 == 1
        start = time.perf_counter()
        embed([f"Yardstick {tag} {i}: the threshold matters more than the loss for the fraud class."])
        yardstick.append((time.perf_counter() - start) * 1000)
        reply = await iv.start(trap_id="mlsd-35", user=f"bench-{i}")
        # Unseen text in every session, so the embedding memo cannot flatter the figure.
        for n, answer in enumerate(f"In session {tag} {i}, {a[0].lower()}{a[1:]}" for a in ANSWERS):
            before = stub.request_count()
            start = time.perf_counter()
            async for _ in iv.stream_reply(reply.session_id, answer, listening=tokens):
                pass
            wall = time.perf_counter() - start
            overheads[tokens, n == HINT].append((wall - (stub.request_count() - before) * LATENCY) * 1000)
    return overheads, (_rss_mb() - rss0) * 1024 / sessions


def _client_ms(calls: int = 100) -> dict[str, float]:
    """litellm's own work for one call, whole and streamed: the stub answers at once, so the time is client side."""
    messages = [{"role": "user", "content": "Ask one question about the fraud model's threshold."}]
    with StubProcess(0.0) as stub, tempfile.TemporaryDirectory() as tmp:
        settings = stub.settings(Path(tmp))
        llm = LLM(settings, endpoints_for(settings, "ask"), "ask")  # as the interviewer builds it

        async def streamed() -> None:
            async for _ in llm.astream(messages):
                pass

        async def whole() -> None:
            await llm.atext(messages)

        async def timed() -> dict[str, float]:  # in one event loop, as the service makes its calls
            out = {}
            for name, call in (("whole", whole), ("streamed", streamed)):
                await call()  # the first call opens the connection
                times = []
                for _ in range(calls):
                    start = time.perf_counter()
                    await call()
                    times.append((time.perf_counter() - start) * 1000)
                out[name] = percentile(times, 50)
            return out

        return asyncio.run(timed())


def run(sessions: int = 60) -> dict[str, Any]:
    """Sessions alternate between the two ways a turn is served, so both are measured under the same conditions:
    whole replies (REST, Slack) and streamed tokens (WebSocket, terminal chat).

    Twice: the stub first numbers its replies, so every interviewer sentence is new text and its leak check runs
    the embedder, as with a provider model that rephrases; then it replies with the card's own first follow-up,
    as the embedded 0.5B mostly does (76 of its 89 sentences in the recorded interviewer eval were the card's
    follow-up sentences word for word), which `interviewer serve` has embedded before it listens.
    """
    from service.grading.text import unwrap

    Runtime.build().warm_cards()  # as `interviewer serve` does
    card_reply = unwrap(Runtime.build().catalog.get("mlsd-35").card.follow_ups[0].question)
    yardstick: list[float] = []
    with StubProcess(LATENCY) as stub:
        fresh, rss_kb = _measure(stub, sessions, yardstick, "A")
    with StubProcess(LATENCY, reply=card_reply) as stub:
        verbatim, _ = _measure(stub, sessions, yardstick, "B")

    client = _client_ms()

    def p(values: list[float], q: float) -> float:
        return round(percentile(values, q), 2)

    def turns(by: Overheads, streamed: bool, hint: bool | None = None) -> list[float]:
        return [o for (t, h), v in by.items() if t == streamed and hint in (None, h) for o in v]

    return {
        "stub_latency_ms": LATENCY * 1000,
        "turns": sum(len(v) for v in (*fresh.values(), *verbatim.values())),
        "overhead_p50_ms": p(turns(fresh, False), 50),
        "overhead_p99_ms": p(turns(fresh, False), 99),
        "streamed_overhead_p50_ms": p(turns(fresh, True), 50),
        "streamed_overhead_p99_ms": p(turns(fresh, True), 99),
        "card_reply_overhead_p50_ms": p(turns(verbatim, False), 50),
        "card_reply_overhead_p99_ms": p(turns(verbatim, False), 99),
        "card_reply_streamed_overhead_p50_ms": p(turns(verbatim, True), 50),
        "card_reply_streamed_overhead_p99_ms": p(turns(verbatim, True), 99),
        "answer_turn_overhead_p50_ms": p(turns(fresh, False, hint=False), 50),
        "answer_turn_streamed_overhead_p50_ms": p(turns(fresh, True, hint=False), 50),
        # The floor under an answer turn, same run: each part is work the turn cannot skip.
        "floor_litellm_call_p50_ms": round(client["whole"], 2),
        "floor_litellm_streamed_call_p50_ms": round(client["streamed"], 2),
        "floor_hint_turn_p50_ms": p(turns(fresh, False, hint=True) + turns(verbatim, False, hint=True), 50),
        "embed_18_tokens_p50_ms": p(yardstick, 50),
        "live_sessions": sessions,
        "peak_rss_growth_per_session_kb": round(rss_kb, 1),
    }
