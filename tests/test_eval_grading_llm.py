"""The grading eval in LLM mode, replayed from the embedded 1.5B judge on a sample of the gold set."""

from __future__ import annotations

import pytest

from evals import grading as ev
from service.catalog import Catalog
from service.grading.factory import make_grader

pytestmark = pytest.mark.llm
SAMPLE = {"mlsd-35"}  # evals/gold/llm_sample.txt


def test_llm_judge_on_recorded_gold_sample(recorded, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    with recorded("eval_grading_llm") as settings:
        one = settings.model_copy(update={"concurrency": 1})  # in order, so the server's prefix cache serves
        result = ev.run(make_grader(settings=one, mode="llm", use_cache=False), None, catalog, trap_ids=SAMPLE)
    assert result["mode"] == "llm" and result["model"] == "hosted_vllm/qwen2.5-coder-1.5b"
    assert result["answers"] == 9 and not result["errors"]
    kinds = result["mean_score_by_kind"]
    assert kinds["off_topic"] <= 5 and kinds["buzzwords"] <= 15  # the semantic guard caps them whatever the model says
    assert set(kinds) == {
        "expert",
        "partial",
        "trap",
        "buzzwords",
        "off_topic",
        "injection",
        "rejecting",
        "short",
        "dressed",
    }
    # What the embedded 1.5B judge reaches on the rest is reported in docs/grading.md, not
    # asserted as good: it is not.
