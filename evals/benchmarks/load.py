"""Concurrent WebSocket interviews against a live service on loopback, the model a stub with fixed latency.

Per turn: wall time from sending a message to the final event; service overhead = that minus the
model's share (stub calls made x latency, spread over the turns). Candidates think between turns
(uniform THINK seconds; real ones take far longer to type an answer), arriving at random within
the first think time: that is the load the target is stated for. A second run with no think time
at all measures saturation: how many turns per second the service can take, and what queueing
then does to latency.

The service runs as deployed (`interviewer serve`, its default worker count) and, in the same run
for comparison, in one process.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from evals.benchmarks.stats import percentile
from service.llm.client import served
from service.llm.stub import StubProcess

LATENCY = 0.2
SESSIONS = (50, 100)
THINK = (2.0, 6.0)
# A whole interview: answers (each assessed, then a follow-up from the model), a clarification (the
# model), and the end (the report). Five turns a candidate, so 50 candidates give 250 turns to a p99.
MESSAGES = [
    ("answer", "I would weight the positive class heavily in the loss."),
    ("clarify", "What do you mean?"),
    ("answer", "Then I would recalibrate the scores on a held-out month before picking a threshold."),
    ("answer", "Uniform downsampling of negatives leaves the ranking alone; only the probabilities shift."),
    ("finish", "finish"),
]


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _service(stub: StubProcess, data_dir: Path, sessions: int, workers: int) -> Iterator[int]:
    """`interviewer serve` in its own process, as deployed: the load generator must not share its GIL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "INTERVIEWER_DATA_DIR": str(data_dir),
        "INTERVIEWER_MODEL": served("stub"),
        "INTERVIEWER_API_BASE": stub.api_base,
        "INTERVIEWER_API_KEY": "sk-stub",
        "INTERVIEWER_JSON_MODE": "schema_object",
        "INTERVIEWER_GRADER": "semantic",
        "INTERVIEWER_CONCURRENCY": str(sessions),
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("interviewer")), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300  # builds the index in the fresh data dir first
        while not _healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"interviewer serve did not come up (exit code {proc.poll()})")
            time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


Turn = tuple[float, bool, str]  # wall seconds, whether the model streamed, message kind


async def _session(port: int, i: int, think: tuple[float, float]) -> tuple[list[Turn], int]:
    import websockets

    rng = random.Random(i)
    await asyncio.sleep(rng.uniform(0, think[1]))  # arrivals spread out, not one synchronised burst
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        res = await client.post("/sessions", json={"trap_id": "mlsd-35", "user": f"load-{i}"})
        res.raise_for_status()
        sid = res.json()["session_id"]
    walls, errors = [], 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/sessions/{sid}", max_size=None) as ws:
        json.loads(await ws.recv())  # state
        for kind, message in MESSAGES:
            await asyncio.sleep(rng.uniform(*think))
            start = time.perf_counter()
            await ws.send(json.dumps({"message": f"{message} ({i})" if message != "finish" else message}))
            streamed = False  # a turn whose words streamed made one model call; the others none
            while True:
                event = json.loads(await ws.recv())
                streamed = streamed or event["type"] == "token"
                if event["type"] == "error":
                    errors += 1
                    break
                if event["type"] == "final":
                    break
            walls.append((time.perf_counter() - start, streamed, kind))
    return walls, errors


def _load(port: int, stub: StubProcess, sessions: int, think: tuple[float, float]) -> dict[str, Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(_session(port, i, think) for i in range(sessions)), return_exceptions=True)

    calls_before = stub.request_count()
    start = time.perf_counter()
    results = asyncio.run(main())
    elapsed = time.perf_counter() - start
    calls = stub.request_count() - calls_before
    failed = [r for r in results if isinstance(r, BaseException)]
    ok = [r for r in results if not isinstance(r, BaseException)]
    turns = [t for r in ok for t in r[0]]
    walls = [w for w, _, _ in turns]
    overhead = [max(0.0, w - (LATENCY if streamed else 0.0)) * 1000 for w, streamed, _ in turns]
    by_kind = {k: [o for o, (_, _, kind) in zip(overhead, turns, strict=True) if kind == k] for k in dict(MESSAGES)}
    return {
        "sessions": sessions,
        "think_s": f"{think[0]}-{think[1]}",
        "turns": len(turns),
        "turns_per_s": round(len(turns) / elapsed, 1),
        # Each streamed turn is charged one model call; this says whether that accounts for all calls.
        "model_calls": calls,
        "model_calls_attributed": sum(streamed for _, streamed, _ in turns),
        "turn_p50_ms": round(percentile([w * 1000 for w in walls], 50), 1),
        "turn_p99_ms": round(percentile([w * 1000 for w in walls], 99), 1),
        "overhead_p50_ms": round(percentile(overhead, 50), 1),
        "overhead_p99_ms": round(percentile(overhead, 99), 1),
        "overhead_p50_p99_ms_by_kind": {
            k: [round(percentile(v, 50), 1), round(percentile(v, 99), 1)] for k, v in by_kind.items() if v
        },
        "errors": len(failed) + sum(r[1] for r in ok),
        "first_error": repr(failed[0])[:200] if failed else None,
    }


async def _load_warm(port: int, sessions: int) -> None:
    await asyncio.gather(*(_session(port, -1 - i, (0.0, 0.0)) for i in range(sessions)))


def _measure(stub: StubProcess, data_dir: Path, workers: int, sessions: tuple[int, ...]) -> dict[str, Any]:
    with _service(stub, data_dir, max(sessions), workers) as port:
        # Warm: each worker embeds the card once. Concurrent sessions, so the connections spread over the workers.
        asyncio.run(_load_warm(port, 4 * workers))
        out: dict[str, Any] = {"workers": workers}
        for n in sessions:
            out[f"think_{n}"] = _load(port, stub, n, THINK)
        out["saturation_50"] = _load(port, stub, 50, (0.0, 0.0))
    return out


def run() -> dict[str, Any]:
    from service.config import Settings

    with tempfile.TemporaryDirectory() as tmp, StubProcess(LATENCY) as stub:
        out: dict[str, Any] = {"stub_latency_s": LATENCY}
        out |= _measure(stub, Path(tmp) / "deployed", Settings().workers, SESSIONS)
        out["one_process"] = _measure(stub, Path(tmp) / "one", 1, SESSIONS[:1])
    return out
