"""What there is to grade: one answer in one of three forms, parsed from a batch line or a POST /grade body.

The forms are one discriminated union, told apart by the fields they carry: `turns` (a transcript),
`trap_id` (an answer to a trap), `question` / `reference_answer` (an answer to any question).
A batch line that cannot be graded becomes a LineError with a clear message, never an exception
that stops the batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError
from pydantic.config import JsonDict

from service.catalog import Catalog
from service.config import Settings
from service.errors import IndexError_, InterviewerError, InvalidInputError
from service.grading.grader import check_answer
from service.index import TrapIndex

FORMS = "give trap_id, turns, or question + reference_answer"
# Documented in the schema, enforced by our own checks (check_answer), whose messages say more than
# a pattern mismatch: an answer has a non-space character and fits the default length limit.
NOT_BLANK = r"\S"
TEXT: JsonDict = {"pattern": NOT_BLANK, "maxLength": Settings.model_fields["max_answer_chars"].default}


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a line may carry fields of its own (labels, sources)


class TrapAnswer(_Form):
    trap_id: str
    answer: str = Field(json_schema_extra=TEXT)
    max_score: float | None = Field(default=None, gt=0, description="Also give score_scaled on this scale.")


class ReferenceAnswer(_Form):
    """An answer to any question: a rubric is derived from the reference answer."""

    question: str = Field(json_schema_extra=TEXT)
    reference_answer: str = Field(json_schema_extra=TEXT)
    answer: str = Field(json_schema_extra=TEXT)
    max_score: float | None = Field(default=None, gt=0, description="Also give score_scaled on this scale.")


class TurnIn(BaseModel):
    role: Literal["interviewer", "candidate"]
    content: str = Field(json_schema_extra=TEXT)


class Transcript(_Form):
    """A whole interview: the candidate's turns are graded; the trap is retrieved from the interviewer's
    turns when trap_id is absent."""

    trap_id: str | None = None
    turns: list[TurnIn] = Field(
        json_schema_extra={"minItems": 1, "contains": {"properties": {"role": {"const": "candidate"}}}}
    )


def _form(value: Any) -> str | None:
    if isinstance(value, dict):
        if "turns" in value:
            return "transcript"
        if value.get("trap_id") is not None:
            return "trap"
        if "question" in value or "reference_answer" in value:
            return "reference"
        return None
    forms: dict[type, str] = {TrapAnswer: "trap", ReferenceAnswer: "reference", Transcript: "transcript"}
    return forms.get(type(value))


Answer = Annotated[
    Annotated[TrapAnswer, Tag("trap")]
    | Annotated[ReferenceAnswer, Tag("reference")]
    | Annotated[Transcript, Tag("transcript")],
    Discriminator(_form, custom_error_type="form", custom_error_message=FORMS),
]
_ANSWER: TypeAdapter[Any] = TypeAdapter(Answer)


@dataclass(frozen=True)
class Item:
    id: str
    answer: str
    trap_id: str | None = None
    question: str | None = None
    reference: str | None = None
    max_score: float | None = None
    retrieved: bool = False  # the trap was found from a transcript's interviewer turns


class LineError(Exception):
    """A line that cannot be graded; its message goes into the output as the line's error. `retryable`
    when the cause is not the line (the index could not be reached), so a re-run tries it again."""

    def __init__(self, record_id: str | None, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.message = message
        self.retryable = retryable


def _problem(exc: ValidationError) -> str:
    """One line for the first thing wrong, in the words a batch's output uses."""
    err = exc.errors()[0]
    if err["type"] == "form":
        return FORMS
    field = next((str(p) for p in err["loc"] if p not in ("trap", "reference", "transcript")), "?")
    if field == "turns":
        return "'turns' must be a list of {role, content}"
    if field == "max_score":
        return "'max_score' must be a positive number"
    return f"missing or non-text field '{field}'"


def line_id(line: str) -> str | None:
    """The id `parse` gives the line's record (None for a line that is not an object with an id), read
    without parsing the rest: what a driver needs to skip or de-duplicate lines it does not grade itself."""
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    rid = rec.get("id") if isinstance(rec, dict) else None
    return str(rid) if isinstance(rid, str | int) and str(rid) != "" else None


def parse(line: str, number: int, catalog: Catalog, index: TrapIndex | None, max_chars: int) -> Item:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(None, f"line {number}: not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(rec, dict):
        raise LineError(None, f"line {number}: expected a JSON object")
    rid = rec.get("id")
    if not isinstance(rid, str | int) or str(rid) == "":
        raise LineError(None, f"line {number}: missing 'id'")
    rid = str(rid)
    try:
        return resolve(_ANSWER.validate_python(rec), rid, catalog, index, max_chars)
    except ValidationError as exc:
        raise LineError(rid, _problem(exc)) from exc
    except IndexError_ as exc:
        raise LineError(rid, exc.message, retryable=True) from exc
    except InterviewerError as exc:
        raise LineError(rid, exc.message) from exc


def resolve(
    answer: TrapAnswer | ReferenceAnswer | Transcript,
    rid: str,
    catalog: Catalog,
    index: TrapIndex | None,
    max_chars: int,
) -> Item:
    """The item to grade: the trap known (an unknown id raises with the nearest ones), the answer checked."""
    if isinstance(answer, Transcript):
        text = "\n\n".join(t.content for t in answer.turns if t.role == "candidate")
        if answer.trap_id is not None:
            item = Item(rid, text, trap_id=catalog.get(answer.trap_id).id)
        else:
            # The interviewer's words name the trap best; without them, the answer's own words.
            asked = " ".join(t.content for t in answer.turns if t.role == "interviewer") or text
            if not asked.strip() or index is None:
                raise InvalidInputError("no trap_id, and no words in the turns to find the trap from")
            item = Item(rid, text, trap_id=index.search(asked, k=1)[0].trap_id, retrieved=True)
    elif isinstance(answer, TrapAnswer):
        item = Item(rid, answer.answer, trap_id=catalog.get(answer.trap_id).id, max_score=answer.max_score)
    else:
        check_answer(answer.question, max_chars, "question", "say what was asked")
        check_answer(answer.reference_answer, max_chars, "reference answer", "nothing to derive criteria from")
        item = Item(
            rid, answer.answer, question=answer.question, reference=answer.reference_answer, max_score=answer.max_score
        )
    check_answer(item.answer, max_chars)
    return item
