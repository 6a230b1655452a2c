"""Grades exported to the tools people evaluate with: an Inspect AI task scored offline (mockllm), a
promptfoo assertion called as promptfoo calls it, and LangSmith feedback from `interviewer grade`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.config import Settings, get_settings

TRAP_ANSWER = "I'd weight the fraud class by 10,000 in the cross-entropy, its inverse frequency, and classify at 0.5."
SKY = {"question": "Why is the sky blue?", "reference_answer": "Rayleigh scattering: air scatters blue light most."}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, index):  # type: ignore[no-untyped-def]
    """The exports read the INTERVIEWER_* environment, as they do inside Inspect and promptfoo."""
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("INTERVIEWER_MODE", "semantic")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_an_inspect_task_scores_with_the_rubric(tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, get_model
    from inspect_ai.solver import generate

    from service.exports.inspect_scorer import rubric_grade

    outputs = [
        ModelOutput.from_content("mockllm/model", TRAP_ANSWER),
        ModelOutput.from_content("mockllm/model", "Blue light scatters more."),
    ]
    task = Task(
        dataset=[
            Sample(input="Set up the fraud objective.", metadata={"trap_id": "mlsd-35"}),
            Sample(input=SKY["question"], target=SKY["reference_answer"]),
        ],
        solver=generate(),
        scorer=rubric_grade(mode="semantic"),
    )
    model = get_model("mockllm/model", custom_outputs=outputs)
    log = eval(task, model=model, log_dir=str(tmp_path), display="none")[0]
    assert log.status == "success", log.error
    by_input = {s.input: next(iter(s.scores.values())) for s in log.samples}
    fraud = by_input["Set up the fraud objective."]
    assert fraud.metadata["fell_into_trap"] is True and fraud.value <= 0.35
    assert [c["key"] for c in fraud.metadata["criteria"]][0] == "weighting-is-threshold-shift"
    assert "inverse-frequency-weight-default-threshold" in fraud.metadata["red_flags"]
    assert "Fell into the trap" in fraud.explanation
    sky = by_input[SKY["question"]]
    assert sky.metadata["criteria"] and 0 <= sky.value <= 1
    assert log.results.scores[0].metrics["mean"].value == pytest.approx((fraud.value + sky.value) / 2)


def test_promptfoo_assertion_as_promptfoo_calls_it(env) -> None:  # type: ignore[no-untyped-def]
    from service.exports.promptfoo_assert import get_assert

    context = {"prompt": "Set up the fraud objective.", "vars": {"trap_id": "mlsd-35"}, "test": {}, "config": {}}
    result = get_assert(TRAP_ANSWER, context)
    assert result["pass"] is False and 0 <= result["score"] <= 0.35
    assert len(result["componentResults"]) == 5 and "Fell into the trap" in result["reason"]
    assert all(set(c) == {"pass", "score", "reason"} for c in result["componentResults"])
    lenient = get_assert(TRAP_ANSWER, {**context, "config": {"threshold": 0.0}})
    assert lenient["pass"] is True
    bad = get_assert("x", {"vars": {"trap_id": "mlsd-350"}})
    assert bad == {"pass": False, "score": 0.0, "reason": bad["reason"]} and "nearest ids: mlsd-35" in bad["reason"]


def test_langsmith_feedback_from_interviewer_grade(tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "trap_id": "mlsd-35", "answer": TRAP_ANSWER}) + "\nnot json\n")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["grade", str(src), "-o", str(out), "--format", "langsmith"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in out.with_suffix(".langsmith.jsonl").read_text().splitlines()]
    graded = next(line for line in lines if line["id"] == "a")
    keys = [f["key"] for f in graded["feedback"]]
    assert keys[0] == "score" and "weighting-is-threshold-shift" in keys
    assert "red_flag:inverse-frequency-weight-default-threshold" in keys
    assert all(set(f) == {"key", "score", "comment"} and 0 <= f["score"] <= 1 for f in graded["feedback"])
    assert any("error" in line for line in lines)


def _promptfoo() -> str | None:
    import shutil

    local = Path(__file__).parents[1] / ".ci" / "node" / "node_modules" / ".bin" / "promptfoo"
    return str(local) if local.exists() else shutil.which("promptfoo")


@pytest.mark.skipif(_promptfoo() is None, reason="the promptfoo CLI is not installed (.ci/run installs it from npm)")
def test_promptfoo_cli_runs_the_assertion(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """A real `promptfoo eval`: its echo provider returns the prompt, which the assertion grades."""
    import os
    import subprocess
    import sys

    assertion = Path(__file__).parents[1] / "service" / "exports" / "promptfoo_assert.py"
    config = {
        "prompts": ["{{answer}}"],
        "providers": ["echo"],
        "tests": [
            {
                "vars": {"trap_id": "mlsd-35", "answer": TRAP_ANSWER},
                "assert": [{"type": "python", "value": f"file://{assertion}", "config": {"mode": "semantic"}}],
            },
            {
                "vars": {**SKY, "answer": "Air scatters blue light most: Rayleigh scattering."},
                "assert": [{"type": "python", "value": f"file://{assertion}", "config": {"threshold": 0.5}}],
            },
        ],
    }
    (tmp_path / "promptfooconfig.yaml").write_text(json.dumps(config))
    env = {
        **os.environ,
        "PROMPTFOO_PYTHON": sys.executable,
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CONFIG_DIR": str(tmp_path / "promptfoo-home"),
        "INTERVIEWER_DATA_DIR": str(settings.data_dir),
        "INTERVIEWER_MODE": "semantic",
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    run = subprocess.run(
        [str(_promptfoo()), "eval", "-c", "promptfooconfig.yaml", "--no-cache", "--no-progress-bar", "-o", "out.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads((tmp_path / "out.json").read_text())["results"]["results"]
    by_trap = {r["vars"].get("trap_id", "sky"): r for r in results}
    assert by_trap["mlsd-35"]["success"] is False, run.stdout[-2000:]
    assert "Fell into the trap" in by_trap["mlsd-35"]["gradingResult"]["reason"]
    assert len(by_trap["mlsd-35"]["gradingResult"]["componentResults"]) >= 5
    assert by_trap["sky"]["success"] is True, by_trap["sky"]["gradingResult"]
