"""Replays of real exchanges with the embedded local model (re-record with `make record`)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from service.llm.factory import make_llm

pytestmark = pytest.mark.llm


class Question(BaseModel):
    question: str


MESSAGES = [
    {"role": "system", "content": "You are a senior ML interviewer. Reply with JSON only."},
    {"role": "user", "content": "Ask one short interview question about KV-cache memory in LLM serving."},
]


async def test_structured_replay(recorded) -> None:  # type: ignore[no-untyped-def]
    with recorded("llm_structured") as settings:
        llm = make_llm(settings=settings, role="ask")
        out = await llm.astructured(MESSAGES, Question)
        assert isinstance(out, Question) and out.question.strip()
        assert llm.last_usage is not None and llm.last_usage.completion_tokens


async def test_structured_async_and_text_replay(recorded) -> None:  # type: ignore[no-untyped-def]
    with recorded("llm_async") as settings:
        llm = make_llm(settings=settings, role="ask")
        out = await llm.astructured(MESSAGES, Question)
        assert out.question.strip()
        text = await llm.atext([{"role": "user", "content": "Say 'ready' and nothing else."}])
        assert text
