"""Time to the first words of a follow-up, as the candidate sees them, on both paths a turn can take.

The card path (the embedded default): the agent chooses the criterion and shows the card's question; the
clock runs from sending a 60-word answer to the first text the interviewer streams (the WebSocket's first
frame), through the graph, the coverage analysis and the choice of question. Target: 1.0 s.

The model path (the embedded 0.5B phrasing turns, INTERVIEWER_LOCAL_ASKS): the candidate reads the
opening question of a fresh session for 12 s (the embedded model meanwhile reads the head of the
next prompt: the primer), then answers with 60 words; the clock runs from sending it to the first
text the interviewer streams (the WebSocket forwards these events as they come, so this is its first
frame), after the graph's steps, the coverage analysis and the sentence-by-sentence turn checks.
Then the same model call is replayed straight at the model server: once after the previous call
again (the server's prompt cache as the turn found it: the time to read the turn's new tokens and
give one), and once after an unrelated prompt (the whole prompt read).

Target: the first words within 1.3x the model's time to read the new tokens. The model path is skipped,
with the reason, where llama-cpp-python or the model parts are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile
from service.config import get_settings
from service.errors import LocalModelError

TRAP = "mlsd-35"
ANSWER = (  # 60 words, none of them the trap's claims (a claim read in part is asked about, with no model)
    "I would downsample the negatives to about one percent, train with plain log-loss, and correct the "
    "predicted probabilities afterwards for the sampling rate. Then I would pick the threshold that fills the "
    "review team's daily capacity, and check calibration and precision on a later month whose chargeback "
    "labels have matured, because recent labels are still missing most of the fraud."
)
ROUNDS = 4
THINK_S = 12.0  # reading the question and typing 60 words takes longer; the primer has read the prompt's head


async def _first_token(llm: Any, messages: list[dict[str, str]]) -> float:
    start = time.perf_counter()
    first = None
    async for _ in llm.astream(messages):
        first = first or time.perf_counter() - start
    return first or 0.0


def _ask_calls(db: Path) -> list[list[dict[str, str]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT messages FROM llm_calls WHERE role = 'ask' AND ok = 1 ORDER BY id").fetchall()
    return [json.loads(r[0]) for r in rows]


async def _first_event(iv: Any, session_id: str, text: str) -> float | None:
    start = time.perf_counter()
    first = None
    async for event in iv.stream_reply(session_id, text):
        if event["type"] in ("delta", "interviewer") and first is None:
            first = time.perf_counter() - start
    return first


async def _measure_cards(tmp: Path) -> list[float]:
    from service.agent.session import Interviewer
    from service.runtime import Runtime

    settings = get_settings().model_copy(update={"mode": "llm", "data_dir": tmp, "model": None, "local_asks": False})
    out = []
    async with Interviewer.open(Runtime.build(settings)) as iv:
        await _first_event(iv, (await iv.start(trap_id=TRAP, user="ttft-warm")).session_id, ANSWER)  # loads
        for i in range(ROUNDS * 2):
            reply = await iv.start(trap_id=TRAP, user=f"ttft-card-{i}")
            first = await _first_event(iv, reply.session_id, f"{ANSWER} (Take {i}.)")
            if first is not None:
                out.append(first)
    return out


async def _measure(tmp: Path) -> dict[str, Any]:
    from service.agent.session import Interviewer
    from service.llm.factory import make_llm
    from service.runtime import Runtime

    settings = get_settings().model_copy(
        update={"mode": "llm", "data_dir": tmp, "model": None, "fallback_models": [], "local_asks": True}
    )
    visible, warm, cold = [], [], []
    async with Interviewer.open(Runtime.build(settings)) as iv:
        direct = make_llm(settings=settings, role="ask", log_calls=False)
        await direct.atext([{"role": "user", "content": "Say ready."}])  # the server is up and loaded
        for i in range(ROUNDS):
            reply = await iv.start(trap_id=TRAP, user=f"ttft-{i}")
            await asyncio.sleep(THINK_S)
            first = await _first_event(iv, reply.session_id, f"{ANSWER} (Take {i}.)")
            kind = (await iv.state(reply.session_id))["turns"][-1].get("kind")
            if first is None or kind != "follow_up":  # a check question asks no model
                continue
            visible.append(first)
            before, turn = _ask_calls(settings.db_path)[-2:]
            await direct.atext(before)  # the cache as the turn found it
            warm.append(await _first_token(direct, turn))
            await direct.atext([{"role": "user", "content": f"Name a colour. ({i})"}])
            cold.append(await _first_token(direct, turn))
    tokens = (await _prompt_tokens(direct, turn)) if visible else None
    return {"visible": visible, "warm": warm, "cold": cold, "prompt_tokens": tokens}


async def _prompt_tokens(llm: Any, messages: list[dict[str, str]]) -> int | None:
    await llm.atext(messages)
    return llm.last_usage.prompt_tokens if llm.last_usage else None


def p50(values: list[float]) -> float:
    return round(percentile(values, 50), 2)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cards = asyncio.run(_measure_cards(Path(tmp)))
    out: dict[str, Any] = {
        "card_rounds": len(cards),
        "card_visible_ttft_p50_s": p50(cards),
        "card_visible_ttft_max_s": round(max(cards), 2),
    }
    return out | {"model_path": _model_path()}


def _model_path() -> dict[str, Any]:
    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "llama-cpp-python is not installed (pip install -e '.[local]')"}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            m = asyncio.run(_measure(Path(tmp)))
        except LocalModelError as exc:
            return {"skipped": exc.message}
    if not m["visible"]:
        return {"skipped": "no follow-up was streamed (see the model server's log)"}
    return {
        "model": get_settings().local_model,
        "rounds": len(m["visible"]),
        "prompt_tokens": m["prompt_tokens"],
        "visible_ttft_p50_s": p50(m["visible"]),
        "visible_ttft_max_s": round(max(m["visible"]), 2),
        "model_ttft_new_tokens_p50_s": p50(m["warm"]),
        "model_ttft_whole_prompt_p50_s": p50(m["cold"]),
        "visible_over_new_tokens": round(p50(m["visible"]) / max(p50(m["warm"]), 1e-9), 2),
    }
