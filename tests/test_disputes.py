"""Disputes: the regrading rules, the terminal chat's `dispute N`, the reviewer's CLI, and the export the
reader trains on (a few steps, on a tiny set: never the real training)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.catalog import Catalog
from service.cli.main import app
from service.config import get_settings
from service.disputes import Decision, amended, decisions, parse_command
from service.errors import InvalidInputError
from service.grading.models import CriterionScore, Grade, GraderInfo, PointResult

runner = CliRunner()
TRAP_ANSWER = (
    "With one fraud in ten thousand, the model will just predict legit for everything, so the fix is to weight "
    "the fraud class by its inverse frequency, about 10,000, in the cross-entropy. Then I'd train normally and "
    "flag anything above 0.5 as fraud."
)


def _grade(catalog: Catalog) -> Grade:
    """mlsd-35 graded by points: nothing stated, and the inverse-frequency trap raised."""
    rubric = catalog.get("mlsd-35").rubric
    criteria = [
        CriterionScore(
            id=c.id,
            score=0,
            evidence=None,
            rationale="",
            points=[PointResult(id=p.id, text=p.text, core=p.core, status="missing") for p in c.points],
        )
        for c in rubric.criteria
    ]
    flag = "inverse-frequency-weight-default-threshold"
    return Grade(
        trap_id="mlsd-35",
        score=0,
        verdict="fail",
        fell_into_trap=True,
        criteria=criteria,
        red_flags=[flag],
        flag_evidence={flag: "weight the fraud class by its inverse frequency"},
        feedback="",
        grader=GraderInfo(mode="semantic", model="reader", prompt_hash="-", version="test"),
    )


def test_points_then_flags_are_numbered_and_a_point_regrades_its_criterion(catalog: Catalog) -> None:
    rubric = catalog.get("mlsd-35").rubric
    grade = _grade(catalog)
    found = decisions(grade, rubric)
    assert [d.number for d in found] == list(range(1, 21)) and found[-1].kind == "flag"
    core = next(d for d in found if d.key == "point:weighting-is-threshold-shift/odds-scaled-by-weight")
    once = amended(grade, rubric, core, "entails", "the optimum multiplies the odds by w", "test")
    crit = once.criteria[0]
    assert crit.score == 1 and crit.evidence == "the optimum multiplies the odds by w"  # the core alone: partial
    assert crit.points[0].status == "stated" and "the odds" in crit.rationale
    assert once.score == 15 and once.amendments[0].endswith("missing, now stated (test)")  # 30 x 1/2, under the cap
    other = next(d for d in found if d.key == "point:weighting-is-threshold-shift/ranking-unchanged")
    twice = amended(once, rubric, other, "entails", "ranking barely changes", "test")
    assert twice.criteria[0].score == 2 and twice.score == 30 and len(twice.amendments) == 2


def test_a_flag_read_as_rejected_is_cleared_and_its_cap_lifted(catalog: Catalog) -> None:
    rubric = catalog.get("mlsd-35").rubric
    grade = _grade(catalog)
    capped = grade.model_copy(update={"criteria": [c.model_copy(update={"score": 2}) for c in grade.criteria]})
    flag = decisions(capped, rubric)[-1]
    assert flag.decided == "raised"
    cleared = amended(capped, rubric, flag, "contradicts", flag.evidence or "", "test")
    assert cleared.red_flags == [] and not cleared.fell_into_trap and cleared.score == 100
    raised = amended(
        cleared, rubric, Decision.model_validate({**flag.model_dump(), "decided": "not raised"}), "entails", "x", "t"
    )
    assert raised.red_flags == [flag.key.removeprefix("flag:")] and raised.score == 35


def test_dispute_commands_are_parsed_or_refused() -> None:
    said = parse_command('dispute 3 I rejected it: "We would not weight by 10,000" really')
    assert said is not None and (said.decision, said.sentence) == (3, "We would not weight by 10,000")
    assert said.reason == "I rejected it: really"
    assert parse_command("Dispute #2").decision == 2  # type: ignore[union-attr]
    assert parse_command("I dispute nothing") is None
    with pytest.raises(InvalidInputError, match="decision"):
        parse_command("dispute 0 zero is not a decision")
    with pytest.raises(InvalidInputError, match="reason"):
        parse_command("dispute 1 " + "x" * 1001)


@pytest.fixture
def cli_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERVIEWER_MODE", "semantic")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_settings")
def test_chat_disputes_a_decision_the_reviewer_accepts_and_the_export_trains(tmp_path: Path, catalog: Catalog) -> None:
    done = runner.invoke(app, ["chat", "--trap", "mlsd-35"], input=f"{TRAP_ANSWER}\nfinish\ndispute 999\n\n")
    assert done.exit_code == 0, done.output
    assert "no decision 999" in done.output and "dispute N your reason" in done.output
    number = re.search(r"(\d+)\s*│\s*raised", done.output)
    assert number is not None, done.output
    from service.agent.store import SessionStore

    sid = SessionStore(get_settings()).sessions("me")[0]["id"]

    filed = runner.invoke(
        app, ["chat", "--resume", sid], input=f"dispute {number.group(1)} I called it the naive baseline\n\n"
    )
    assert filed.exit_code == 0, filed.output
    assert re.search(rf"Decision {number.group(1)} disputed: score (\d+), or (\d+) if it stands", filed.output)

    listed = runner.invoke(app, ["disputes", "list", "--json"])
    (dispute,) = json.loads(listed.stdout)
    assert dispute["reason"] == "I called it the naive baseline" and dispute["status"] == "open"
    accepted = runner.invoke(app, ["disputes", "accept", dispute["id"], "--note", "baseline", "--reviewer", "ann"])
    assert accepted.exit_code == 0 and f"now scores {dispute['score_if']}" in accepted.output, accepted.output
    again = runner.invoke(app, ["disputes", "reject", dispute["id"]])
    assert again.exit_code == 1 and "already accepted" in again.output
    shown = runner.invoke(app, ["chat", "--resume", sid], input="\n")
    assert f"Score {dispute['score_if']}/100" in shown.output
    assert "Changed after a dispute:" in shown.output and dispute["id"] in shown.output

    out = tmp_path / "disputes.jsonl"
    assert "1 settled disputes" in runner.invoke(app, ["disputes", "export", str(out)]).output
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["passage"] in TRAP_ANSWER and {s["label"] for s in line["statements"]} == {"contradicts"}

    from evals.polarity_data import load_disputes
    from service.grading import training

    assert {p.cell for p in load_disputes(out)} == {"disputes"}
    reader = tmp_path / "reader" / "one-writer"
    reader.mkdir(parents=True)
    labels = {"weighting-is-threshold-shift/odds-scaled-by-weight": "entails"}
    (reader / "mlsd-35.jsonl").write_text(json.dumps({"passage": "Weights scale the odds.", "labels": labels}) + "\n")
    recipe = training.Recipe(semeval_pairs=0, batch_size=2, max_steps=2, threads=1)
    rows, sources = training.examples(recipe, catalog, reader_dir=tmp_path / "reader", disputes=out)
    assert sources["dispute"] == len(line["statements"])
    training._train(rows, recipe, tmp_path / "tiny")
    assert (tmp_path / "tiny" / "torch" / "config.json").exists()

    from evals import polarity

    said = polarity.run(
        catalog, tmp_path / "reader", methods={"all-neither": lambda ps: ["neither"] * len(ps)}, disputes=out
    )
    assert said["cells"]["disputes"] == len(line["statements"])  # a cell of its own, beside the held-out ones
    assert said["methods"]["all-neither"]["disputes"]["n"] == len(line["statements"])
