"""Concurrent WebSocket interviews against a live service on loopback, the model a stub with fixed latency.

Per turn: wall time from sending a message to the final event; service overhead = that minus the
model's share (stub calls made x latency, spread over the turns). Candidates think between turns
(uniform THINK seconds; real ones take far longer to type an answer), arriving at random within
the first think time: that is the load the target is stated for. A second run with no think time
at all measures saturation: how many turns per second the service can take, and what queueing
then does to latency.

The service runs as deployed (`interviewer serve`, its default worker count) and, in the same run
for comparison, in one process.

The faults run (`evals/bench load-faults`, and the end of `load`): 50 interviews with think time
against a stub where 30% of model calls fail (5xx, 429, a reply cut off mid-stream, a hang past the
service's model timeout, in equal parts). The Router retries a call; a turn whose call still fails
ends with the card's question and a notice that the model could not be reached; a stream cut after
some words (which no retry can take back) shows them, completed by the card's question, and a
notice that the reply was cut short. It counts every
message sent against the candidate turns each session's transcript kept, how each turn ended, and
the stub's calls and injected faults. Every failure must be retried (a call beyond one per model
turn) or reported (a notice): `unaccounted` = failed calls − retries − reported turns. A lost or
duplicated message, a turn that ended in an error, a dropped socket or no reply, a reply that asks
nothing, or an unaccounted failure is listed under `failures`, and evals/bench then exits 1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from evals.benchmarks.stats import percentile
from service.llm.client import served
from service.llm.stub import StubProcess

log = logging.getLogger(__name__)
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

FAULT_SESSIONS = 50
# 30% of model calls fail, in four equal parts. A hang outlasts the service's timeout, so it costs
# one timeout per try: MODEL_TIMEOUT keeps that to seconds (the default, 300 s, is for a slow local model).
FAULTS = {"error_rate": 0.075, "rate_limit_rate": 0.075, "cut_rate": 0.075, "hang_rate": 0.075, "hang_seconds": 30}
MODEL_TIMEOUT = 2.0
MODEL_RETRIES = 2
TURN_LIMIT = 60.0  # a turn with neither a final nor an error event by then is stuck
MODEL_TURNS = {"follow_up", "clarify", "dont_know"}  # the interviewer turns the model phrases
NOTICES = ("could not be reached", "cut short")  # the notices that report a failed model call
# Two sentences, as a model often replies: a reply cut after the first has shown words but asked nothing.
FAULT_REPLY = "That is a fair start. How would you check that the scores stay calibrated after the reweighting?"


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _service(
    stub: StubProcess, data_dir: Path, sessions: int, workers: int, extra: dict[str, str] | None = None
) -> Iterator[int]:
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
        **(extra or {}),
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
    out["faults"] = run_faults()
    out["failures"] = out["faults"]["failures"]
    return out


@dataclass
class _Interview:
    ends: list[str] = field(default_factory=list)  # per turn: final, error, dropped or stuck
    walls: list[float] = field(default_factory=list)  # seconds from sending to the turn's end
    reported: int = 0  # final replies that say the model failed them
    not_asking: int = 0  # final replies, the session still active, that ask nothing
    sent: int = 0
    kept: int = 0  # sent messages found among the transcript's candidate turns
    extra: int = 0  # candidate turns beyond those: a message saved twice
    model_turns: int = 0  # interviewer turns the model phrased (or should have)
    finished: bool = False
    error: str | None = None  # what stopped the interview early
    errors: list[str] = field(default_factory=list)  # the error events' status and detail


async def _turn(ws: Any) -> tuple[str, dict[str, Any]]:
    while True:
        event = json.loads(await ws.recv())
        if event["type"] in ("final", "error"):
            return event["type"], event


async def _interview(port: int, i: int, think: tuple[float, float]) -> _Interview:
    """One scripted interview on a model that fails; a dropped or stuck socket is reconnected and the script goes on."""
    import websockets

    from service.agent.turncheck import asks
    from service.grading.text import sentences

    rng = random.Random(i)
    out = _Interview()
    await asyncio.sleep(rng.uniform(0, think[1]))
    url = f"ws://127.0.0.1:{port}/ws/sessions/"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        res = await client.post("/sessions", json={"trap_id": "mlsd-35", "user": f"faults-{i}"})
        res.raise_for_status()
        sid = res.json()["session_id"]
        sent: list[str] = []
        ws = await websockets.connect(url + sid, max_size=None)
        try:
            json.loads(await ws.recv())  # state
            for _, message in MESSAGES:
                await asyncio.sleep(rng.uniform(*think))
                text = f"{message} ({i})" if message != "finish" else message
                start = time.perf_counter()
                await ws.send(json.dumps({"message": text}))
                sent.append(text)
                try:
                    end, event = await asyncio.wait_for(_turn(ws), TURN_LIMIT)
                except (websockets.ConnectionClosed, OSError, TimeoutError) as exc:
                    end, event = ("stuck" if isinstance(exc, TimeoutError) else "dropped"), {}
                    await ws.close()
                    ws = await websockets.connect(url + sid, max_size=None)  # the turn runs on; the next finds it
                    json.loads(await ws.recv())
                out.ends.append(end)
                out.walls.append(time.perf_counter() - start)
                if end == "error":
                    out.errors.append(f"{event['status']} {event['detail']}"[:200])
                if reply := event.get("reply"):
                    out.reported += any(notice in n for n in reply["notices"] for notice in NOTICES)
                    asking = any(asks(x) for x in sentences(reply["message"]))
                    out.not_asking += reply["status"] == "active" and not asking
        except Exception as exc:  # noqa: BLE001 - the transcript below still says what was kept
            out.error = repr(exc)[:200]
        finally:
            await ws.close()
        session = (await client.get(f"/sessions/{sid}")).raise_for_status().json()
    candidate = [t["content"] for t in session["transcript"] if t["role"] == "candidate"]
    for text in sent:
        if text in candidate:
            candidate.remove(text)
            out.kept += 1
    out.sent, out.extra, out.finished = len(sent), len(candidate), session["status"] == "finished"
    out.model_turns = sum(t["role"] == "interviewer" and t["kind"] in MODEL_TURNS for t in session["transcript"])
    return out


def _faults_load(port: int, stub: StubProcess, sessions: int) -> dict[str, Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(_interview(port, i, THINK) for i in range(sessions)), return_exceptions=True)

    calls_before, faults_before = stub.request_count(), stub.fault_counts()
    start = time.perf_counter()
    results = asyncio.run(main())
    elapsed = time.perf_counter() - start
    calls = stub.request_count() - calls_before
    faults = {k: n - faults_before.get(k, 0) for k, n in stub.fault_counts().items() if n > faults_before.get(k, 0)}
    crashed = [r for r in results if isinstance(r, BaseException)]
    done: list[_Interview] = [r for r in results if not isinstance(r, BaseException)]
    ends = [e for r in done for e in r.ends]
    walls = [w * 1000 for r in done for w in r.walls]
    model_turns = sum(r.model_turns for r in done)
    reported = sum(r.reported for r in done)
    failed = sum(faults.values())
    retried = calls - model_turns  # calls beyond one per saved model turn (a turn that failed saved none)
    figures: dict[str, Any] = {
        "interviews": sessions,
        "interviews_finished": sum(r.finished for r in done),
        "seconds": round(elapsed, 1),
        "messages_sent": sum(r.sent for r in done),
        "messages_kept": sum(r.kept for r in done),
        "messages_lost": sum(r.sent - r.kept for r in done),
        "messages_saved_twice": sum(r.extra for r in done),
        "turns": len(ends),
        "turns_final": ends.count("final"),
        "turns_error": ends.count("error"),
        "turns_dropped": ends.count("dropped"),
        "turns_stuck": ends.count("stuck"),
        "turns_reported": reported,
        "turns_not_asking": sum(r.not_asking for r in done),
        "model_turns": model_turns,
        "model_calls": calls,
        "model_calls_failed": failed,
        "faults_by_kind": faults,
        "retried": retried,
        # Each failed call was retried, or was a turn's last and the turn says so: what neither covers. Below
        # 0 when turns ended in an error: their calls were made, but no model turn of theirs was saved.
        "unaccounted": failed - retried - reported,
        "turn_p50_ms": round(percentile(walls, 50), 1) if walls else None,
        "turn_p99_ms": round(percentile(walls, 99), 1) if walls else None,
        "turn_max_ms": round(max(walls), 1) if walls else None,
        "error_events": sorted({e for r in done for e in r.errors})[:3],
        "first_error": next((r.error for r in done if r.error), repr(crashed[0])[:200] if crashed else None),
    }
    checks = {
        "interviews that crashed": len(crashed),
        "interviews cut short": sum(r.error is not None for r in done),
        "messages lost": figures["messages_lost"],
        "messages saved twice": figures["messages_saved_twice"],
        "turns ended in an error event": figures["turns_error"],
        "turns whose socket dropped": figures["turns_dropped"],
        "turns with no reply in 60 s": figures["turns_stuck"],
        "replies that ask nothing": figures["turns_not_asking"],
        "failed calls neither retried nor reported": max(0, figures["unaccounted"]),
    }
    figures["failures"] = [f"{n} {what}" for what, n in checks.items() if n]
    for failure in figures["failures"]:
        log.error("load-faults: %s", failure)
    return figures


def run_faults() -> dict[str, Any]:
    """`evals/bench load-faults`: 50 interviews on a model where 30% of calls fail."""
    extra = {"INTERVIEWER_TIMEOUT": str(MODEL_TIMEOUT), "INTERVIEWER_RETRIES": str(MODEL_RETRIES)}
    with tempfile.TemporaryDirectory() as tmp, StubProcess(LATENCY, FAULT_REPLY, **FAULTS) as stub:
        from service.config import Settings

        workers = Settings().workers
        with _service(stub, Path(tmp), FAULT_SESSIONS, workers, extra) as port:
            asyncio.run(_load_warm(port, 4 * workers))
            out: dict[str, Any] = {
                "workers": workers,
                "stub_latency_s": LATENCY,
                "model_timeout_s": MODEL_TIMEOUT,
                "model_retries": MODEL_RETRIES,
                "fault_rates": {k: v for k, v in FAULTS.items() if k.endswith("_rate")},
            }
            return out | _faults_load(port, stub, FAULT_SESSIONS)
