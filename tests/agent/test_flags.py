"""A trap claim read weakly is asked about, neutrally and without a model, and the reply settles it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from service.agent import flags
from service.agent.session import Interviewer
from service.catalog import Catalog
from service.grading import checklist
from tests.grading.test_checklist import ScriptedReader

TRAP = "mlsd-35"
HEDGE = "It might be that weighting the fraud class by about 10,000 is right, but I'd have to think about it more."


@pytest.fixture
def weak_reading(monkeypatch: pytest.MonkeyPatch, catalog: Catalog) -> Iterator[None]:
    """The reader reads the hedge as the weighting claim in part (below the flag's confidence), nothing else."""
    claim = flags.raising_claim(catalog.get(TRAP).rubric.red_flags[0])
    reader = ScriptedReader({(claim[:30], "might be"): ("entails", 0.6)})
    monkeypatch.setattr(checklist, "cross_encoder", lambda: reader)
    monkeypatch.setattr(flags, "cross_encoder", lambda: reader)
    yield


def test_the_question_is_the_claim_asked_neutrally(settings, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    trap = catalog.get(TRAP)
    q = flags.question(settings, trap, trap.rubric.red_flags[0].id)
    assert q == (
        "Before we go on, I want to be sure I read you right: would you say that weighting the fraud class by "
        "about 10,000, its inverse frequency, is the right training objective?"
    )
    again = flags.question(settings, trap, trap.rubric.red_flags[0].id, again=True)
    assert again.startswith("I mean this claim: “Weighting the fraud class") and again.endswith("yes or no?")
    assert flags._as_clause("ReLU beats sigmoid.") == "ReLU beats sigmoid"
    assert flags._as_clause("BF16 is enough.") == "BF16 is enough"


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("Yes, I would keep it that way.", "kept"),
        ("I stand by it.", "kept"),
        ("No, on reflection I'd recalibrate instead.", "dropped"),
        ("Actually no, I wouldn't keep that weight.", "dropped"),
    ],
)
def test_a_plain_reply_settles_without_the_reader(reply: str, outcome: str) -> None:
    assert flags.settle("Some claim.", reply, 0.8) == outcome


async def _interview(iv: Interviewer, *messages: str) -> Any:
    reply = await iv.start(trap_id=TRAP)
    for message in messages:
        reply = await iv.reply(reply.session_id, message)
    return reply, await iv.state(reply.session_id)


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (["Yes, I would keep it that way."], "kept"),
        (["No."], "dropped"),
        (["What do you mean exactly?", "Yes."], "kept"),  # the claim is put again, plainly; then settled
    ],
)
async def test_a_hedge_is_asked_about_and_the_reply_settles_the_report(
    answers: list[str], outcome: str, own_runtime, weak_reading, catalog: Catalog
) -> None:  # type: ignore[no-untyped-def]
    flag = catalog.get(TRAP).rubric.red_flags[0]
    async with Interviewer.open(own_runtime()) as iv:
        asked, _ = await _interview(iv, HEDGE)
        assert asked.message == flags.question(iv.settings, catalog.get(TRAP), flag.id)
        reply, state = await _interview(iv, HEDGE, *answers, "finish")
    report = reply.report
    assert [t["kind"] for t in state["turns"] if t["role"] == "interviewer"][1] == "check"
    assert [(c.flag, c.outcome) for c in report.checked_flags] == [(flag.id, outcome)]
    assert report.checked_flags[0].passage in HEDGE
    if outcome == "kept":
        assert flag.id in report.grade.red_flags and report.grade.score <= flag.cap
        assert [f.id for f in report.red_flags] == [flag.id]
    else:
        assert flag.id not in report.grade.red_flags and flag.id not in report.grade.unclear_flags
