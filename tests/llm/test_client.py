"""The LLM layer against a real stand-in server on 127.0.0.1: structure, repair and every fault path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from service.config import Settings
from service.errors import ModelOutputError, ModelUnavailableError
from service.llm.factory import make_llm
from service.llm.stub import StubConfig, StubServer, minimal_instance


class Verdict(BaseModel):
    reasoning: str
    level: int


MESSAGES = [{"role": "user", "content": "Grade this."}]


def _settings(tmp_path: Path, api_base: str, **kw: object) -> Settings:
    base: dict[str, object] = dict(
        model="openai/stub",
        api_base=api_base,
        api_key="sk-test",
        data_dir=tmp_path,
        json_mode="schema_object",
        retries=2,
        timeout=5.0,
    )
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


async def test_structured_output_sends_schema_and_validates(tmp_path: Path) -> None:
    with StubServer() as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="grade")
        out = await llm.astructured(MESSAGES, Verdict)
        assert isinstance(out, Verdict)
        sent = stub.config.requests[-1]
        assert sent["response_format"] == {"type": "json_object", "schema": Verdict.model_json_schema()}
        assert sent["temperature"] == 0 and sent["seed"] == 7


async def test_async_structured_and_usage_logged(tmp_path: Path) -> None:
    with StubServer() as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="ask")
        await llm.astructured(MESSAGES, Verdict)
        rows = llm.call_log.rows()  # type: ignore[union-attr]
        assert rows[-1]["ok"] == 1 and rows[-1]["role"] == "ask" and rows[-1]["prompt_tokens"] == 2
        assert rows[-1]["cost_usd"] == 0.0  # served on loopback: free, not "unknown"
        assert llm.last_usage is not None and llm.last_usage.latency_ms > 0


async def test_invalid_json_is_repaired_once(tmp_path: Path) -> None:
    replies = iter(['{"reasoning": "x", "level": "high"}', '{"reasoning": "x", "level": 2}'])
    with StubServer(StubConfig(responder=lambda body: next(replies))) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="grade")
        assert (await llm.astructured(MESSAGES, Verdict)).level == 2
        repair_prompt = stub.config.requests[-1]["messages"][-1]["content"]
        assert repair_prompt.startswith("That reply was not valid")


async def test_invalid_json_twice_is_a_typed_error(tmp_path: Path) -> None:
    with StubServer(StubConfig(malformed_rate=1.0)) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="grade")
        with pytest.raises(ModelOutputError, match="returned invalid Verdict twice"):
            await llm.astructured(MESSAGES, Verdict)
        assert len(stub.config.requests) == 2


async def test_stub_replies_are_numbered(tmp_path: Path) -> None:
    # Never the same text twice, so work a service does on each reply (the interviewer's leak check)
    # cannot be served from a memo in benchmarks, as it could not with a real model.
    with StubServer() as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="ask")
        assert await llm.atext(MESSAGES) != await llm.atext(MESSAGES)


async def test_5xx_is_retried_with_backoff(tmp_path: Path) -> None:
    with StubServer(StubConfig(fail_first=2)) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="grade")
        assert (await llm.atext(MESSAGES)).startswith("Stub reply")
        assert len(stub.config.requests) == 3
        rows = llm.call_log.rows()  # type: ignore[union-attr]
        assert [(r["ok"], r["attempt"]) for r in rows] == [(1, 2)]  # one row per call, its retries counted


async def test_429_is_retried(tmp_path: Path) -> None:
    with StubServer(StubConfig(rate_limit_rate=1.0)) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base, retries=1), role="grade")
        with pytest.raises(ModelUnavailableError, match="RateLimitError"):
            await llm.atext(MESSAGES)
        assert len(stub.config.requests) == 2


async def test_timeout_never_hangs(tmp_path: Path) -> None:
    with StubServer(StubConfig(hang_rate=1.0, hang_seconds=5)) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base, retries=0, timeout=0.5), role="grade")
        start = time.perf_counter()
        with pytest.raises(ModelUnavailableError, match="Timeout"):
            await llm.atext(MESSAGES)
        assert time.perf_counter() - start < 4


async def test_fallback_to_next_model(tmp_path: Path) -> None:
    from service.llm.client import LLM, Endpoint

    with StubServer(StubConfig(error_rate=1.0)) as bad, StubServer() as good:
        settings = _settings(tmp_path, bad.api_base, retries=0)
        endpoints = [
            Endpoint(f"openai/{name}", base, "sk-test", "schema_object")
            for name, base in (("stub", bad.api_base), ("backup", good.api_base))
        ]
        llm = LLM(settings, endpoints, "grade")
        assert (await llm.atext(MESSAGES)).startswith("Stub reply")
        assert good.config.requests[0]["model"] == "backup"
        assert (await llm.astructured(MESSAGES, Verdict)).level == 0  # the backup asked in its own form
        assert good.config.requests[-1]["response_format"]["type"] == "json_object"
        assert llm.last_usage is not None and llm.last_usage.model == "openai/backup"


async def test_all_models_failing_names_the_fix(tmp_path: Path) -> None:
    with StubServer(StubConfig(error_rate=1.0)) as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base, retries=1), role="grade")
        with pytest.raises(ModelUnavailableError) as exc:
            await llm.atext(MESSAGES)
        assert exc.value.message.startswith("no model answered (InternalServerError: ")
        assert "INTERVIEWER_MODE=semantic" in exc.value.message
        assert len(stub.config.requests) == 2  # the first try and one retry


async def test_streaming_yields_tokens(tmp_path: Path) -> None:
    with StubServer() as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="ask")
        pieces = [p async for p in llm.astream(MESSAGES)]
        assert len(pieces) > 3 and "".join(pieces).startswith("Stub reply")
        row = llm.call_log.rows()[-1]  # type: ignore[union-attr]
        assert row["ok"] == 1 and row["response"] == "".join(pieces) and row["latency_ms"] > 0


async def test_a_stream_read_in_part_is_still_logged(tmp_path: Path) -> None:
    with StubServer() as stub:
        llm = make_llm(settings=_settings(tmp_path, stub.api_base), role="ask")
        words = llm.astream(MESSAGES)
        first = await anext(words)  # type: ignore[arg-type]
        await words.aclose()  # type: ignore[attr-defined]  # the interviewer stops reading at a leaking sentence
        row = llm.call_log.rows()[-1]  # type: ignore[union-attr]
        assert row["ok"] == 1 and row["response"] == first


def test_minimal_instance_validates() -> None:
    schema = Verdict.model_json_schema()
    assert Verdict.model_validate(json.loads(json.dumps(minimal_instance(schema))))
