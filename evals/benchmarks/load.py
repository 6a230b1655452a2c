"""Concurrent WebSocket interviews against a live service on loopback, the model a stub with fixed latency.

Per turn: wall time from sending a message to the final event; service overhead = that minus the
model's share (stub calls made x latency, spread over the turns). Candidates think between turns
(uniform THINK seconds; real ones take far longer to type an answer), arriving at random within
the first think time: that is the load the target is stated for. A second run with no think time
at all measures saturation: how many turns per second the service can take, and what queueing
then does to latency.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile
from service.config import Settings
from service.llm.stub import StubProcess

LATENCY = 0.2
SESSIONS = (50, 100)
THINK = (2.0, 6.0)
MESSAGES = ["I would weight the positive class heavily in the loss.", "What do you mean?", "finish"]


def _serve(settings: Settings) -> tuple[Any, int]:
    import uvicorn

    from service.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


async def _session(port: int, i: int, think: tuple[float, float]) -> tuple[list[float], int]:
    import httpx
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
        for message in MESSAGES:
            await asyncio.sleep(rng.uniform(*think))
            start = time.perf_counter()
            await ws.send(json.dumps({"message": f"{message} ({i})" if message != "finish" else message}))
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "error":
                    errors += 1
                    break
                if event["type"] == "final":
                    break
            walls.append(time.perf_counter() - start)
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
    walls = [w for r in ok for w in r[0]]
    turns = len(walls)
    model_per_turn = calls * LATENCY / max(turns, 1)  # the stub answers in parallel, so its share is L per call
    overhead = [max(0.0, w - model_per_turn) * 1000 for w in walls]
    return {
        "sessions": sessions,
        "think_s": f"{think[0]}-{think[1]}",
        "turns": turns,
        "turns_per_s": round(turns / elapsed, 1),
        "turn_p50_ms": round(percentile([w * 1000 for w in walls], 50), 1),
        "turn_p99_ms": round(percentile([w * 1000 for w in walls], 99), 1),
        "overhead_p50_ms": round(percentile(overhead, 50), 1),
        "overhead_p99_ms": round(percentile(overhead, 99), 1),
        "errors": len(failed) + sum(r[1] for r in ok),
        "first_error": repr(failed[0])[:200] if failed else None,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, StubProcess(LATENCY) as stub:
        settings = stub.settings(Path(tmp), concurrency=max(SESSIONS))
        server, port = _serve(settings)
        asyncio.run(_session(port, -1, (0.0, 0.0)))  # warm: index, embedder and card vectors loaded once
        out: dict[str, Any] = {"stub_latency_s": LATENCY}
        for n in SESSIONS:
            out[f"think_{n}"] = _load(port, stub, n, THINK)
        out["saturation_50"] = _load(port, stub, 50, (0.0, 0.0))
        server.should_exit = True
    return out
