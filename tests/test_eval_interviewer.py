"""The interviewer eval, replayed from the recorded 0.5B interviews: every check must hold."""

from __future__ import annotations

import pytest

from evals import interviewer as ev
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.runtime import Runtime

pytestmark = pytest.mark.llm


async def test_scripted_candidates_against_recorded_interviewer(recorded, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    with recorded("eval_interviewer_llm") as settings:
        async with Interviewer.open(Runtime(settings, catalog)) as iv:
            result = await ev.run(iv, catalog, ["mlsd-33", "llm-46"])
    assert result["mode"] == "llm" and result["interviews"] == 14
    assert result["model_fallbacks"] == 0  # every turn replayed a recorded model reply
    assert result["ended"] == 1.0
    assert result["no_reveal"] == 1.0
    assert result["follow_ups_on_uncovered"] == 1.0
    assert result["on_trap"] >= 0.9
    assert result["turns_asking"] == 1.0  # every follow-up and clarification asks something
    assert result["clarifications"] >= 2 and result["clarifications_repeating"] == 0
    assert result["hints_pointing"] == 1.0
    scores = result["mean_score_by_candidate"]
    assert scores["strong"] > max(scores["trap"], scores["rambling"], scores["silent"], scores["gibberish"])
    assert scores["injection"] <= 30
