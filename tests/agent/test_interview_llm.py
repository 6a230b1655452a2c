"""A whole interview in llm mode, on recorded responses of the embedded 0.5B interviewer model."""

from __future__ import annotations

import pytest

from service.agent import questions
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.runtime import Runtime

pytestmark = pytest.mark.llm


async def test_llm_interview_end_to_end(recorded, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    with recorded("interview_llm") as settings:
        async with Interviewer.open(Runtime(settings, catalog)) as iv:
            assert iv.mode == "llm"
            reply = await iv.start(trap_id="mlsd-35", user="dana")
            answer = "I'd use weighted cross-entropy with weight 10,000 on the fraud class."
            reply = await iv.reply(reply.session_id, answer)
            if reply.message.startswith("Before we go on"):  # read as the trap in part: asked, no model
                reply = await iv.reply(reply.session_id, "Yes, I would keep that weight.")
            assert reply.status == "active"
            follow_up = reply.message
            reply = await iv.reply(reply.session_id, "What do you mean exactly?")
            reply = await iv.reply(reply.session_id, "finish")
    assert reply.status == "finished" and reply.report is not None
    assert reply.notices == []  # every model call was answered (from the recording)
    assert not questions.leaks(catalog.get("mlsd-35"), follow_up)
    assert reply.report.grade.red_flags or reply.report.score <= 40
