"""A promptfoo Python assertion: `assert: [{type: python, value: file://service/exports/promptfoo_assert.py}]`.

promptfoo calls `get_assert(output, context)`; the test's vars name a `trap_id`, or a `question`
and `reference_answer`. It returns a GradingResult: pass (the grade's verdict is pass or strong),
score (0-1), reason, and one componentResult per criterion. `config: {mode: semantic}` in the
assertion picks the grading mode, and `threshold` (0-1) the pass mark instead of the verdict.
"""

from __future__ import annotations

from typing import Any


def get_assert(output: str, context: dict[str, Any]) -> dict[str, Any]:
    from interviewer import grade
    from service.errors import InterviewerError
    from service.exports import criteria, explanation

    variables = context.get("vars") or {}
    config = context.get("config") or {}
    try:
        g = grade(
            output,
            trap_id=variables.get("trap_id"),
            question=variables.get("question"),
            reference_answer=variables.get("reference_answer"),
            mode=config.get("mode"),
        )
    except InterviewerError as exc:  # promptfoo shows the reason; the eval goes on
        return {"pass": False, "score": 0.0, "reason": f"could not grade: {exc.message}"}
    threshold = config.get("threshold")
    passed = g.score / 100 >= float(threshold) if threshold is not None else g.verdict in ("pass", "strong")
    return {
        "pass": passed,
        "score": g.score / 100,
        "reason": explanation(g),
        "componentResults": [
            {"pass": c["score"] == 1.0, "score": c["score"], "reason": f"{c['key']}: {c['comment']}"}
            for c in criteria(g)
        ],
    }
