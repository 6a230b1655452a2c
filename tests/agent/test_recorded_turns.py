"""The embedded models' real turns, replayed: no broken turn is shown.

`interviewer eval turns --collect` recorded every model call into tests/cassettes/turns_<model>.yaml and
each interview state (opening, answer, the probe the agent chose) into evals/turns/recorded_<model>.jsonl.
Each state is phrased again here from the cassette: the same turn is shown, it reads as one question
with nothing broken in it, and it gives nothing of the card's answer away.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals import turn_ab
from evals.interviewer import shown_problems
from service.agent import questions
from service.catalog import Catalog
from service.config import Settings
from service.llm.factory import make_llm
from service.llm.recording import cassette

RECORDED = [m for m in turn_ab.MODELS if turn_ab.recorded_path(m).exists()]


def _rows(model: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in turn_ab.recorded_path(model).read_text(encoding="utf-8").splitlines()]


def test_at_least_100_recorded_turns_cover_every_trap(catalog: Catalog) -> None:
    rows = [r for m in RECORDED for r in _rows(m)]
    assert len(rows) >= 100
    assert {r["trap_id"] for r in rows} == {t.id for t in catalog if ":" not in t.id}


@pytest.mark.parametrize("model", RECORDED)
async def test_no_recorded_turn_is_broken(model: str, tmp_path: Path, settings: Settings, catalog: Catalog) -> None:
    own = settings.model_copy(update={"data_dir": tmp_path, "mode": "llm", "local_model": turn_ab.MODELS[model]})
    sources: Counter[str] = Counter()
    with cassette(turn_ab.cassette_path(model), own) as active:
        llm = make_llm(settings=active, role="ask", log_calls=False)
        for r in _rows(model):
            phrased = await turn_ab.phrase_state(llm, active, catalog, r)
            assert phrased.raw == r["raw"], r["state_id"]  # the recorded reply was replayed
            assert (phrased.text, phrased.source) == (r["shown"], r["source"]), r["state_id"]
            assert shown_problems(active, phrased.text) == [], (r["state_id"], phrased.text)
            assert not questions.leaks(catalog.get(r["trap_id"]), phrased.text), r["state_id"]
            sources[phrased.source] += 1
    assert sum(sources.values()) == len(_rows(model))
