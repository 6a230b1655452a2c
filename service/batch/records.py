"""One input line → what to grade, or a clear error; never an exception that stops the batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.catalog import Catalog
from service.errors import InterviewerError
from service.index import TrapIndex


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
    """A line that cannot be graded; its message goes into the output as the line's error."""

    def __init__(self, record_id: str | None, message: str) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.message = message


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
        return _item(rid, rec, catalog, index, max_chars)
    except InterviewerError as exc:
        raise LineError(rid, exc.message) from exc


def _text(rec: dict[str, Any], field: str, rid: str) -> str:
    value = rec.get(field)
    if not isinstance(value, str):
        raise LineError(rid, f"missing or non-text field '{field}'")
    return value


def _item(rid: str, rec: dict[str, Any], catalog: Catalog, index: TrapIndex | None, max_chars: int) -> Item:
    trap_id = rec.get("trap_id")
    if trap_id is not None:
        trap_id = catalog.get(str(trap_id)).id  # unknown ids raise with the nearest ones
    if "turns" in rec:
        turns = rec["turns"]
        if not isinstance(turns, list) or not all(
            isinstance(t, dict) and "role" in t and "content" in t for t in turns
        ):
            raise LineError(rid, "'turns' must be a list of {role, content}")
        answer = "\n\n".join(str(t["content"]) for t in turns if t["role"] == "candidate")
        retrieved = False
        if trap_id is None:
            asked = " ".join(str(t["content"]) for t in turns if t["role"] == "interviewer")
            if not asked.strip() or index is None:
                raise LineError(rid, "no trap_id and no interviewer turns to find the trap from")
            trap_id, retrieved = index.search(asked, k=1)[0].trap_id, True
        return _checked(Item(rid, answer, trap_id=trap_id, retrieved=retrieved), max_chars)
    answer = _text(rec, "answer", rid)
    if trap_id is not None:
        return _checked(Item(rid, answer, trap_id=trap_id), max_chars)
    if "question" in rec or "reference_answer" in rec:
        max_score = rec.get("max_score")
        if max_score is not None and (not isinstance(max_score, int | float) or max_score <= 0):
            raise LineError(rid, "'max_score' must be a positive number")
        item = Item(
            rid,
            answer,
            question=_text(rec, "question", rid),
            reference=_text(rec, "reference_answer", rid),
            max_score=max_score,
        )
        return _checked(item, max_chars)
    raise LineError(rid, "give trap_id, turns, or question + reference_answer")


def _checked(item: Item, max_chars: int) -> Item:
    if not item.answer.strip():
        raise LineError(item.id, "the answer is empty: there is nothing to grade")
    if len(item.answer) > max_chars:
        raise LineError(item.id, f"the answer is {len(item.answer):,} characters; the limit is {max_chars:,}")
    return item
