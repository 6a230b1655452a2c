"""An Inspect AI scorer: `scorer=rubric_grade()` in a Task grades each sample's output with this grader.

A sample names what it is graded against in its metadata: `trap_id`, or `question` with the
reference answer as its target. The Score's value is the 0-100 score as a fraction; its metadata
carries each criterion's score, evidence and rationale, the red flags raised with their quotes, and
the verdict; its explanation is the grade's feedback.

    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from service.exports.inspect_scorer import rubric_grade

    Task(dataset=[Sample(input="...", metadata={"trap_id": "mlsd-35"})], scorer=rubric_grade())
"""

from __future__ import annotations

from typing import Any

from inspect_ai.scorer import Score, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from service.exports import criteria, explanation
from service.grading.models import Mode


@scorer(metrics=[mean(), stderr()])
def rubric_grade(mode: Mode | None = None) -> Any:
    """Grade the output against the sample's trap (metadata trap_id) or its reference answer (the target)."""
    from interviewer import agrade

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata or {}
        answer = state.output.completion
        if meta.get("trap_id"):
            grade = await agrade(answer, trap_id=meta["trap_id"], mode=mode)
        else:
            question = meta.get("question") or state.input_text
            grade = await agrade(answer, question=question, reference_answer=target.text, mode=mode)
        return Score(
            value=grade.score / 100,
            answer=answer,
            explanation=explanation(grade),
            metadata={
                "verdict": grade.verdict,
                "fell_into_trap": grade.fell_into_trap,
                "criteria": criteria(grade),
                "red_flags": {f: grade.flag_evidence.get(f) for f in grade.red_flags},
                "grader": grade.grader.model_dump(),
            },
        )

    return score
