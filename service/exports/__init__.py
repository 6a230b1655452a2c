"""Grades in the tools people already evaluate with: Inspect AI, promptfoo and LangSmith / openevals.

Each export reads the same Grade: one result per rubric criterion (its score as a fraction of its
points, its evidence quote, its rationale), one per red flag raised, and the overall score.
"""

from __future__ import annotations

from typing import Any

from service.grading.models import Grade


def criteria(grade: Grade) -> list[dict[str, Any]]:
    """Per criterion: key, score in [0, 1], the quote that earned it, and why."""
    return [
        {
            "key": c.id,
            "score": c.score / c.max,
            "evidence": c.evidence,
            "comment": c.rationale + (f' Evidence: "{c.evidence}"' if c.evidence else ""),
        }
        for c in grade.criteria
    ]


def explanation(grade: Grade) -> str:
    flags = "".join(f' Fell into the trap ({f}): "{grade.flag_evidence.get(f, "")}".' for f in grade.red_flags)
    return f"{grade.score}/100 ({grade.verdict}).{flags} {grade.feedback}".strip()


def langsmith_feedback(grade: Grade) -> list[dict[str, Any]]:
    """openevals / LangSmith evaluator results, {key, score, comment}: the overall score, then each criterion."""
    overall = {"key": "score", "score": grade.score / 100, "comment": explanation(grade)}
    flags = [
        {"key": f"red_flag:{f}", "score": 0.0, "comment": f'Raised by: "{grade.flag_evidence.get(f, "")}"'}
        for f in grade.red_flags
    ]
    return [overall, *({k: c[k] for k in ("key", "score", "comment")} for c in criteria(grade)), *flags]
