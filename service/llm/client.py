"""The one door to models: litellm calls with schema-constrained JSON, retries, fallbacks and a log.

Errors from litellm are mapped into ours here and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import random
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ValidationError

from service.config import Settings, offline_environment
from service.errors import ModelOutputError, ModelUnavailableError
from service.llm.calllog import CallLog, CallRecord

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Role = Literal["ask", "grade"]
JsonMode = Literal["schema_object", "json_schema", "json_object"]
_BACKOFF_CAP = 8.0


@dataclass(frozen=True)
class Endpoint:
    """One model to try: a litellm model string, where it lives, and how it takes a schema."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    json_mode: JsonMode = "json_schema"


@dataclass
class Usage:
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    cost_usd: float | None


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """The one event loop that runs model calls made from sync code.

    A fresh loop per call (asyncio.run) gave litellm a new HTTP session each time and bound each
    LLM's semaphore to whichever loop touched it first, which asyncio refuses on the next loop under
    contention. (Measured on the interviewer bench, the per-turn time barely moved; correctness is
    the reason.)
    """
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="llm-loop", daemon=True).start()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code (any thread but the model loop's own) and wait for it."""
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


_END = object()


def iter_sync(agen: AsyncIterator[str]) -> Iterator[str]:
    """Drive an async token stream from sync code: the model loop reads ahead into a queue.

    One hand-off per item, not a round trip per item (waking the loop for each token cost ~0.4 ms
    a chunk). A reader that stops early cancels the read and waits until the stream is closed, so
    its call is logged before the turn goes on.
    """
    items: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    closed = threading.Event()

    async def pump() -> None:
        try:
            async for item in agen:
                items.put((True, item))
            items.put((True, _END))
        except Exception as exc:  # handed to the reader, raised there
            items.put((False, exc))
        finally:
            try:
                await agen.aclose()  # type: ignore[attr-defined]
            finally:
                closed.set()

    running = asyncio.run_coroutine_threadsafe(pump(), _background_loop())
    try:
        while True:
            ok, item = items.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:  # a turn cut short (a leaking sentence) must still close the model's stream
        running.cancel()
        closed.wait()


def _litellm() -> Any:
    offline_environment()  # litellm reads its cost-map switch at import time
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    # Our own call log records every call; litellm's per-chunk success logging has no consumer here.
    litellm.disable_streaming_logging = True
    return litellm


# litellm's route for an OpenAI-compatible server that it drives with its own HTTP handler rather than
# through the OpenAI SDK. The embedded llama.cpp server and the test stub are such servers; measured
# against the loopback stub (50 ms latency), a streamed call costs ~13 ms instead of ~17 and a whole
# one ~8 ms instead of ~10, because the SDK builds a typed object per streamed chunk. Request bodies
# are the same but for an explicit "stream": false.
SERVER_PROVIDER = "hosted_vllm"


def served(name: str) -> str:
    """The litellm model string for a model on an OpenAI-compatible server we start or stand in for."""
    return f"{SERVER_PROVIDER}/{name}"


def _loopback(api_base: str | None) -> bool:
    return bool(api_base) and urlparse(api_base).hostname in ("127.0.0.1", "localhost", "::1")


def register_free(model: str) -> None:
    """Price a model served on this machine at zero in litellm's cost map.

    True (nobody bills for it), so the call log says 0.0 instead of "unknown"; and litellm, which
    prices every streamed reply, otherwise searches its whole map for the unknown name: measured
    ~3 ms of each ~17 ms streamed call against the loopback stub.
    """
    lt = _litellm()
    if model in lt.model_cost:
        return
    free = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}
    free |= {"cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0}
    provider, _, name = model.partition("/")
    for key in (model, name) if name else (model,):
        lt.register_model({key: {**free, "litellm_provider": provider if name else "openai", "mode": "chat"}})


def _transient(exc: Exception) -> bool:
    """Worth retrying the same model: timeouts, rate limits, 5xx and dropped connections."""
    lt = _litellm()
    transient = (
        lt.Timeout,
        lt.RateLimitError,
        lt.ServiceUnavailableError,
        lt.InternalServerError,
        lt.APIConnectionError,
        lt.BadGatewayError,
        asyncio.TimeoutError,
    )
    if isinstance(exc, transient):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status >= 500


def _parse(model: type[M], text: str) -> M:
    text = text.strip()
    if text.startswith("```"):  # small models like to fence JSON even when constrained
        text = text.strip("`").removeprefix("json").strip()
    return model.model_validate_json(text)


class LLM:
    """Calls one role's model (interviewer turns or grading), falling back through the others."""

    def __init__(self, settings: Settings, endpoints: list[Endpoint], role: Role, call_log: CallLog | None = None):
        if not endpoints:
            raise ModelUnavailableError("no model configured: set INTERVIEWER_MODEL or install the local model")
        self.settings = settings
        self.endpoints = endpoints
        self.role = role
        self.call_log = call_log
        self.last_usage: Usage | None = None  # the latest call's, for callers that make one at a time
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        for ep in endpoints:
            if _loopback(ep.api_base):
                register_free(ep.model)

    @property
    def model_name(self) -> str:
        return self.endpoints[0].model

    def _params(self, ep: Endpoint, schema: type[BaseModel] | None, stream: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": ep.model,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "timeout": self.settings.timeout,
            "max_retries": 0,  # retries are ours, bounded and logged
            "stream": stream,
        }
        if self.settings.seed is not None:
            params["seed"] = self.settings.seed
        if ep.api_base:
            params["api_base"] = ep.api_base
        if ep.api_key:
            params["api_key"] = ep.api_key
        if schema is not None:
            js = schema.model_json_schema()
            if ep.json_mode == "schema_object":  # llama.cpp server: json_object with a schema inside
                params["response_format"] = {"type": "json_object", "schema": js}
            elif ep.json_mode == "json_schema":
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": schema.__name__, "schema": js, "strict": False},
                }
            else:
                params["response_format"] = {"type": "json_object"}
        return params

    async def _call(self, messages: list[dict[str, str]], schema: type[BaseModel] | None) -> str:
        """Text of the first successful completion, trying each endpoint with bounded back-off."""
        lt = _litellm()
        failures: list[str] = []
        for ep in self.endpoints:
            for attempt in range(self.settings.retries + 1):
                start = time.perf_counter()
                try:
                    async with self._semaphore:
                        resp = await asyncio.wait_for(
                            lt.acompletion(messages=messages, **self._params(ep, schema, stream=False)),
                            timeout=self.settings.timeout + 5,
                        )
                except Exception as exc:  # every litellm error lands here and is mapped below
                    latency = (time.perf_counter() - start) * 1000
                    reason = f"{ep.model}: {type(exc).__name__}: {str(exc)[:200]}"
                    self._record(ep, attempt, latency, messages, error=reason)
                    failures.append(reason)
                    if not _transient(exc):
                        break
                    if attempt < self.settings.retries:
                        delay = min(_BACKOFF_CAP, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
                        log.warning("model call failed (%s); retry in %.1fs", reason, delay)
                        await asyncio.sleep(delay)
                    continue
                latency = (time.perf_counter() - start) * 1000
                text = resp.choices[0].message.content or ""
                usage = getattr(resp, "usage", None)
                # litellm priced the reply already (None for a provider model it has no price for:
                # unknown, not zero); pricing it again cost ~0.2 ms a call.
                cost = (getattr(resp, "_hidden_params", None) or {}).get("response_cost")
                self.last_usage = Usage(
                    ep.model,
                    getattr(usage, "prompt_tokens", None),
                    getattr(usage, "completion_tokens", None),
                    latency,
                    cost,
                )
                self._record(ep, attempt, latency, messages, usage=self.last_usage, response=text)
                return text
        raise ModelUnavailableError(
            f"no model answered after {len(failures)} attempt(s): "
            + "; ".join(failures[-3:])
            + ". Check the model server, or set INTERVIEWER_MODE=semantic to grade without a model."
        )

    def _record(
        self,
        ep: Endpoint,
        attempt: int,
        latency: float,
        messages: list[dict[str, str]],
        *,
        usage: Usage | None = None,
        error: str | None = None,
        response: str | None = None,
    ) -> None:
        """One call-log row; usage is passed per call, since concurrent calls share this object."""
        if self.call_log is None:
            return
        self.call_log.add(
            CallRecord(
                role=self.role,
                model=ep.model,
                ok=error is None,
                attempt=attempt,
                latency_ms=round(latency, 1),
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
                cost_usd=usage.cost_usd if usage else None,
                error=error,
                messages=messages,
                response=response,
            )
        )

    async def astructured(self, messages: list[dict[str, str]], schema: type[M]) -> M:
        """A validated instance of `schema`; one repair round on invalid output, then ModelOutputError."""
        text = await self._call(messages, schema)
        try:
            return _parse(schema, text)
        except (ValidationError, json.JSONDecodeError, ValueError) as exc:
            problem = str(exc).splitlines()[0][:300]
            log.warning("invalid structured output (%s); asking for a repair", problem)
        repair = [
            *messages,
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": f"That reply was not valid ({problem}). Reply with only the corrected JSON "
                "object, matching the schema exactly.",
            },
        ]
        text = await self._call(repair, schema)
        try:
            return _parse(schema, text)
        except (ValidationError, json.JSONDecodeError, ValueError) as exc:
            raise ModelOutputError(
                f"{self.model_name} returned invalid {schema.__name__} twice: {str(exc).splitlines()[0][:200]}"
            ) from exc

    def structured(self, messages: list[dict[str, str]], schema: type[M]) -> M:
        return run_sync(self.astructured(messages, schema))

    async def atext(self, messages: list[dict[str, str]]) -> str:
        return (await self._call(messages, None)).strip()

    def text(self, messages: list[dict[str, str]]) -> str:
        return run_sync(self.atext(messages))

    async def astream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """Tokens as the first endpoint generates them; on failure before any token, the plain path."""
        lt = _litellm()
        ep = self.endpoints[0]
        pieces: list[str] = []
        error: str | None = None
        start = time.perf_counter()
        try:
            async with self._semaphore:
                stream = await lt.acompletion(messages=messages, **self._params(ep, None, stream=True))
                try:
                    async for chunk in stream:
                        choice = chunk.choices[0] if chunk.choices else None
                        if choice and choice.delta.content:
                            pieces.append(choice.delta.content)
                            yield choice.delta.content
                        # The reply is whole at its finish reason. Waiting for the end of the stream
                        # would only wait for litellm to rebuild and price the whole reply: ~5 ms.
                        if choice and choice.finish_reason:
                            break
                finally:
                    await stream.aclose()
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if pieces:  # half a reply was shown: retrying would repeat it, so say it failed
                raise ModelUnavailableError(f"{ep.model} stopped mid-reply: {exc}") from exc
            log.warning("streaming from %s failed (%s); falling back to a whole reply", ep.model, exc)
        finally:  # logged like every other call, also when the reader stops early (a leaking sentence)
            self.last_usage = None  # a streamed reply carries no usage here
            latency = (time.perf_counter() - start) * 1000
            self._record(ep, 1, latency, messages, error=error, response="".join(pieces) or None)
        yield await self.atext(messages)
