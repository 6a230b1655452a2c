"""The one door to models: litellm's Router (retries, fallbacks, timeouts), schema-constrained JSON, a log.

Errors from litellm are mapped into ours here and nowhere else. Async only: sync code reaches it
through `asyncio.run` at its entry point.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from service.config import Settings, offline_environment
from service.errors import ModelOutputError, ModelUnavailableError
from service.llm.calllog import CallLog, CallRecord

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Role = Literal["ask", "grade"]
JsonMode = Literal["schema_object", "json_schema", "json_object"]
FIX = "Check the model server, or set INTERVIEWER_MODE=semantic to grade without a model."


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


def _litellm() -> Any:
    offline_environment()  # litellm reads its cost-map switch at import time
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    # The Router logs each failed try with its traceback; our call log and ModelError say what failed.
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    return litellm


# litellm's route for an OpenAI-compatible server (the embedded llama.cpp server, the test stub). The
# recorded cassettes hold the bodies this route sends, so it stays.
SERVER_PROVIDER = "hosted_vllm"


def served(name: str) -> str:
    """The litellm model string for a model on an OpenAI-compatible server we start or stand in for."""
    return f"{SERVER_PROVIDER}/{name}"


def response_format(ep: Endpoint, schema: type[BaseModel]) -> dict[str, Any]:
    """How this endpoint is asked for `schema`."""
    js = schema.model_json_schema()
    if ep.json_mode == "schema_object":  # llama.cpp server: json_object with a schema inside
        return {"type": "json_object", "schema": js}
    if ep.json_mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": js, "strict": False}}
    return {"type": "json_object"}


def _parse(model: type[M], text: str) -> M:
    text = text.strip()
    if text.startswith("```"):  # small models like to fence JSON even when constrained
        text = text.strip("`").removeprefix("json").strip()
    return model.model_validate_json(text)


class LLM:
    """Calls one role's model (interviewer turns or grading); the Router falls back through the others."""

    def __init__(self, settings: Settings, endpoints: list[Endpoint], role: Role, call_log: CallLog | None = None):
        if not endpoints:
            raise ModelUnavailableError("no model configured: set INTERVIEWER_MODEL or install the local model")
        self.settings = settings
        self.endpoints = endpoints
        self.role = role
        self.call_log = call_log
        self.last_usage: Usage | None = None  # the latest call's, for callers that make one at a time
        self._routers: dict[type[BaseModel] | None, Any] = {}
        # Calls in flight at once. The Router's own limit refuses a call over it instead of queueing it.
        self._slots = asyncio.Semaphore(settings.concurrency)

    @property
    def model_name(self) -> str:
        return self.endpoints[0].model

    def _router(self, schema: type[BaseModel] | None) -> Any:
        """A Router whose deployments are the endpoints, each asking for `schema` in its own form.

        One per schema, because the form of the request differs per endpoint and the Router lets a
        call's own arguments override every deployment's.
        """
        if schema not in self._routers:
            deployments = []
            for i, ep in enumerate(self.endpoints):
                params: dict[str, Any] = {"model": ep.model}
                if ep.api_base:
                    params["api_base"] = ep.api_base
                if ep.api_key:
                    params["api_key"] = ep.api_key
                if schema is not None:
                    params["response_format"] = response_format(ep, schema)
                deployments.append({"model_name": f"{self.role}-{i}", "litellm_params": params})
            groups = [d["model_name"] for d in deployments]
            s = self.settings
            self._routers[schema] = _litellm().Router(
                model_list=deployments,
                fallbacks=[{groups[0]: groups[1:]}] if len(groups) > 1 else [],
                num_retries=s.retries,
                timeout=s.timeout,
                disable_cooldowns=True,  # one deployment per group: cooling it down would only refuse calls
            )
        return self._routers[schema]

    def _call_params(self) -> dict[str, Any]:
        s = self.settings
        # max_retries is the provider SDK's own: the Router retries, so the SDK below it must not as well.
        params: dict[str, Any] = {"temperature": s.temperature, "max_tokens": s.max_tokens, "max_retries": 0}
        if s.seed is not None:
            params["seed"] = s.seed
        return params

    async def _call(self, messages: list[dict[str, str]], schema: type[BaseModel] | None) -> str:
        """Text of the first successful completion, after the Router's retries and fallbacks."""
        start = time.perf_counter()
        try:
            async with self._slots:
                resp = await self._router(schema).acompletion(
                    model=f"{self.role}-0", messages=messages, stream=False, **self._call_params()
                )
        except Exception as exc:  # every litellm error lands here and becomes ours
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            self._record(self.model_name, 0, start, messages, error=reason)
            raise ModelUnavailableError(f"no model answered ({reason}). {FIX}") from exc
        hidden = getattr(resp, "_hidden_params", None) or {}
        headers = hidden.get("additional_headers") or {}
        usage = getattr(resp, "usage", None)
        self.last_usage = Usage(
            hidden.get("litellm_model_name") or self.model_name,
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
            (time.perf_counter() - start) * 1000,
            hidden.get("response_cost"),  # None for a provider model litellm has no price for: unknown, not zero
        )
        text = resp.choices[0].message.content or ""
        attempts = int(headers.get("x-litellm-attempted-retries") or 0)
        self._record(self.last_usage.model, attempts, start, messages, usage=self.last_usage, response=text)
        return text

    def _record(
        self,
        model: str,
        attempt: int,
        start: float,
        messages: list[dict[str, str]],
        *,
        usage: Usage | None = None,
        error: str | None = None,
        response: str | None = None,
    ) -> None:
        """One call-log row per call; usage is passed per call, since concurrent calls share this object."""
        if self.call_log is None:
            return
        self.call_log.add(
            CallRecord(
                role=self.role,
                model=model,
                ok=error is None,
                attempt=attempt,
                latency_ms=round((time.perf_counter() - start) * 1000, 1),
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

    async def aprime(self, messages: list[dict[str, str]]) -> None:
        """Have the model read these messages now, so a later prompt that starts with them finds them in
        its server's prompt cache: a one-token completion, whose failure only costs that head start."""
        start = time.perf_counter()
        params = {**self._call_params(), "max_tokens": 1}
        try:
            async with self._slots:
                await self._router(None).acompletion(model=f"{self.role}-0", messages=messages, stream=False, **params)
        except Exception as exc:  # every litellm error lands here; nobody waits on a primer
            log.info("priming the prompt cache failed: %s", exc)
            self._record(self.model_name, 0, start, messages, error=f"prime: {type(exc).__name__}")
            return
        self._record(self.model_name, 0, start, messages, response="(primed)")

    async def atext(self, messages: list[dict[str, str]]) -> str:
        return (await self._call(messages, None)).strip()

    async def astream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """Tokens as the model generates them; a failure after the first token cannot be retried unseen."""
        pieces: list[str] = []
        error: str | None = None
        start = time.perf_counter()
        try:
            async with self._slots:
                stream = await self._router(None).acompletion(
                    model=f"{self.role}-0", messages=messages, stream=True, **self._call_params()
                )
                try:
                    async for chunk in stream:
                        choice = chunk.choices[0] if chunk.choices else None
                        if choice and choice.delta.content:
                            pieces.append(choice.delta.content)
                            yield choice.delta.content
                finally:
                    await stream.aclose()
        except Exception as exc:  # every litellm error lands here and becomes ours
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            if pieces:
                raise ModelUnavailableError(f"{self.model_name} stopped mid-reply ({error})") from exc
            raise ModelUnavailableError(f"no model answered ({error}). {FIX}") from exc
        finally:  # logged like every other call, also when the reader stops early (a leaking sentence)
            self.last_usage = None  # a streamed reply carries no usage here
            self._record(self.model_name, 0, start, messages, error=error, response="".join(pieces) or None)
