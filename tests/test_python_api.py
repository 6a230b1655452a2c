"""The Python API (`from interviewer import grade, Interviewer`): the same grades and interviews as the
service, errors from the one exception tree, and the documented example runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer import Interviewer, grade
from service.config import Settings
from service.errors import InterviewerError, InvalidInputError, UnknownTrapError

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "python_api.py"


def test_grade_matches_what_the_grader_gives(settings: Settings, runtime) -> None:  # type: ignore[no-untyped-def]
    from service.grading.factory import make_grader
    from service.grading.subject import Subject

    answer = "Weight the fraud class by 10,000 in the cross-entropy and classify at 0.5."
    direct = make_grader(settings=settings, mode="semantic").grade(
        Subject.from_trap(runtime.catalog.get("mlsd-35")), answer
    )
    assert grade(answer, trap_id="mlsd-35", settings=settings) == direct
    scaled = grade(
        "Rayleigh scattering.",
        question="Why is the sky blue?",
        reference_answer="Rayleigh scattering.",
        max_score=10,
        settings=settings,
    )
    assert scaled.score_scaled == round(scaled.score / 10, 2)


def test_errors_come_from_the_one_tree(settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownTrapError, match="nearest ids: mlsd-35"):
        grade("x", trap_id="mlsd-350", settings=settings)
    with pytest.raises(InvalidInputError, match="give trap_id, or question and reference_answer"):
        grade("x", question="only a question", settings=settings)
    with pytest.raises(InterviewerError, match="empty"):
        grade("   ", trap_id="mlsd-35", settings=settings)
    with pytest.raises(InvalidInputError, match="with Interviewer"):
        Interviewer(settings).start(trap_id="mlsd-33")


ALGORITHM_R = (
    "Reservoir sampling, Algorithm R: after the first k events, accept the i-th with probability k/i and overwrite "
    "a uniformly chosen slot."
)


def test_an_interview_from_code(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with Interviewer(settings, data_dir=tmp_path) as iv:
        reply = iv.start(trap_id="mlsd-33", user="code")
        assert reply.status == "active" and "Kafka" in reply.message
        reply = iv.reply(reply.session_id, ALGORITHM_R)
        report = iv.report(reply.session_id)
        assert report.trap_id == "mlsd-33" and report.grade is not None and report.grade.score > 0
        assert iv.report(reply.session_id) == report  # finished: the same report, no second finish


def test_the_documented_example_runs(settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(settings.data_dir)}
    out = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "fell into the trap: True" in out.stdout
    assert "UnknownTrapError: unknown trap id 'mlsd-350'" in out.stdout
    assert "report: " in out.stdout
