"""The embedded local model: prompt and decode tokens/s, time to first token, cold start to first call.

Skipped (with the reason) where llama-cpp-python or the model parts are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from typing import Any

from service.config import get_settings
from service.errors import LocalModelError

PROMPT = ("You are a senior interviewer. " * 40) + "Ask one question about GPU memory."


def _measure(name: str) -> dict[str, Any]:
    from service.llm.client import LLM, Endpoint, served
    from service.llm.local import MODELS, LocalServer

    settings = get_settings().model_copy(update={"max_tokens": 64, "seed": 1})
    t0 = time.perf_counter()
    server = LocalServer(settings, MODELS[name])
    server.start()
    llm = LLM(settings, [Endpoint(served(name), server.api_base, "sk-local", "schema_object")], "ask")
    try:
        asyncio.run(llm.atext([{"role": "user", "content": "Say ready."}]))
        cold = time.perf_counter() - t0

        async def first_token() -> tuple[float, float, int]:
            start = time.perf_counter()
            ttft = None
            pieces = 0
            async for _ in llm.astream([{"role": "user", "content": PROMPT + f" ({time.time()})"}]):
                if ttft is None:
                    ttft = time.perf_counter() - start
                pieces += 1
            return ttft or 0.0, time.perf_counter() - start, pieces

        ttft, total, pieces = asyncio.run(first_token())
        asyncio.run(llm.atext([{"role": "user", "content": PROMPT + " twice"}]))
        usage = llm.last_usage
        assert usage is not None
        prompt_tokens = usage.prompt_tokens or 0
        return {
            "cold_start_to_first_call_s": round(cold, 2),
            "time_to_first_token_s": round(ttft, 2),
            "prompt_tokens": prompt_tokens,
            "prompt_tok_per_s": round(prompt_tokens / ttft, 1) if ttft else None,
            "decode_tok_per_s": round(pieces / (total - ttft), 1) if total > ttft else None,
        }
    finally:
        server.stop()


def run() -> dict[str, Any]:
    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "llama-cpp-python is not installed (make run installs it)"}
    out: dict[str, Any] = {}
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        try:
            out[name] = _measure(name)
        except LocalModelError as exc:
            out[name] = {"skipped": exc.message}
    return out
