"""The interviewer eval on the default path (the cards' questions) and replayed from the recorded 0.5B
interviews: every check must hold, read on the text the candidate was shown."""

from __future__ import annotations

import pytest

from evals import interviewer as ev
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.runtime import Runtime


async def test_scripted_candidates_on_the_card_path(own_runtime, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    """The embedded default: no model phrases turns, and every turn shown reads as one question."""
    async with Interviewer.open(own_runtime(mode="llm")) as iv:
        result = await ev.run(iv, catalog, ["mlsd-35", "llm-46"])
    assert result["interviews"] == 16 and result["ended"] == 1.0 and result["no_reveal"] == 1.0
    assert result["turns_asking"] == 1.0
    assert result["prompt_echo"] == result["near_duplicates"] == result["fragments"] == 0
    assert set(result["turn_sources"]) == {"card"} and result["model_fallbacks"] == 0
    assert result["words_per_turn_max"] <= 60


@pytest.mark.llm
async def test_scripted_candidates_against_recorded_interviewer(recorded, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    with recorded("eval_interviewer_llm") as settings:
        async with Interviewer.open(Runtime(settings, catalog)) as iv:
            result = await ev.run(iv, catalog, ["mlsd-33", "llm-46"])
    assert result["mode"] == "llm" and result["interviews"] == 16
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
