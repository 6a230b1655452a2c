"""The grading eval in LLM mode, replayed from the embedded 1.5B judge on a sample of the gold set."""

from __future__ import annotations

import pytest

from evals import grading as ev
from service.catalog import Catalog
from service.grading.factory import make_grader

pytestmark = pytest.mark.llm
# mlsd-35's expert, trap and off-topic answers: ~8 checklist calls an answer, ~40 s each for the 1.5B here
SAMPLE = ev.DEFAULT_GOLD.with_name("llm_sample.jsonl")


def test_llm_judge_on_recorded_gold_sample(recorded, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    with recorded("eval_grading_llm") as settings:
        one = settings.model_copy(update={"concurrency": 1})  # in order, so the server's prefix cache serves
        result = ev.run(make_grader(settings=one, mode="llm", use_cache=False), None, catalog, SAMPLE)
    assert result["mode"] == "llm" and result["model"] == "hosted_vllm/qwen2.5-coder-1.5b"
    assert result["answers"] == 3 and not result["errors"]
    kinds = result["mean_score_by_kind"]
    assert set(kinds) == {"expert", "trap", "off_topic"}
    assert kinds["off_topic"] <= 5  # the semantic guard caps it whatever the model says (no call is made)
    # What the embedded 1.5B judge reaches is reported in docs/grading.md, not asserted as good.
