"""What an answer is graded against: a catalog trap, or a question with a reference answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from service.catalog import Rubric, Trap


@dataclass(frozen=True)
class Subject:
    key: str  # identifies the content, for caches
    trap_id: str | None
    question: str
    reference: str
    rubric: Rubric
    trap: str = ""  # the tempting wrong answer, when known

    @classmethod
    def from_trap(cls, trap: Trap) -> Subject:
        c = trap.card
        key = hashlib.sha256((c.model_dump_json() + trap.rubric.model_dump_json()).encode()).hexdigest()[:16]
        return cls(f"{trap.id}:{key}", trap.id, c.question, c.correct_answer, trap.rubric, c.trap)

    @classmethod
    def from_reference(cls, question: str, reference: str, rubric: Rubric) -> Subject:
        key = hashlib.sha256(f"{question}\0{reference}\0{rubric.model_dump_json()}".encode()).hexdigest()[:16]
        return cls(f"ref:{key}", None, question, reference, rubric)
