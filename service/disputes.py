"""Disputes: "that's not what I said". A candidate says one decision of a grade is wrong.

A dispute never changes the grade by itself: it is stored beside it, shown as disputed with the
candidate's reason and the score both ways, and a reviewer settles it. An accepted dispute changes the
stored grade, which then says so in `amendments`. Settled disputes, accepted or rejected, are the
reader's rarest training pairs: a real candidate's words, labelled by the person who wrote them and
checked by a reviewer (`interviewer disputes export`).

A dispute is text, never instructions: it is stored and shown, and reaches no model prompt. Nothing
leaves the machine unless the operator exports it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.catalog import Point, Rubric
from service.db import Store
from service.errors import ConflictError, InvalidInputError, SessionError
from service.grading import checklist
from service.grading.entailment import LABELS
from service.grading.models import CriterionScore, Grade, PointResult
from service.grading.scoring import rescored, verify_quote

Label = Literal["entails", "partial", "contradicts", "neither"]
Status = Literal["open", "accepted", "rejected"]
STATUS_OF: dict[str, Literal["stated", "partly", "contradicted", "missing"]] = {
    "entails": "stated",
    "partial": "partly",
    "contradicts": "contradicted",
    "neither": "missing",
}
MAX_TEXT = 1000  # characters of a reason, a sentence or a reviewer's note
MAX_PER_GRADE = 50  # disputes one grade can hold, settled ones included
WRITER = "dispute"  # the writer of every exported pair, so the reader's eval keeps them in a cell of their own


class Decision(BaseModel):
    """One decision of a grade that a candidate can dispute, numbered as every report shows it."""

    number: int
    key: str = Field(description="point:<criterion>/<point>, criterion:<id> (graded without points) or flag:<id>.")
    kind: Literal["point", "criterion", "flag"]
    statement: str = Field(description="What was decided about: the point, the criterion's claim, or the trap.")
    decided: str = Field(description="stated / partly / contradicted / missing; 0/2..2/2; raised / unclear.")
    evidence: str | None = Field(description="The answer's words the decision rests on, or null.")


class Statement(BaseModel):
    """What the reader decides for a decision: its training pairs' statements."""

    ref: str
    text: str
    claim: bool = False


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: int = Field(ge=1, description="The decision's number, as the report shows it.")
    reason: str = Field(default="", max_length=MAX_TEXT, description="Why the decision is wrong, in your words.")
    sentence: str | None = Field(
        default=None,
        min_length=4,
        max_length=MAX_TEXT,
        description="The sentence of your answer that shows it, verbatim; needed where the decision quotes nothing.",
    )
    reading: Label | None = Field(
        default=None,
        description="What that sentence does to the statement; by default the opposite of the decision: "
        "a point not credited is 'entails', a point credited is 'neither', a trap raised is 'contradicts'.",
    )


COMMAND = re.compile(r"\s*dispute\s+#?(\d+)\b[\s:,.-]*(.*)", re.IGNORECASE | re.DOTALL)
QUOTED = re.compile(r"[\"“](.+?)[\"”]", re.DOTALL)


def parse_command(text: str) -> DisputeIn | None:
    """`dispute N [reason] ["the sentence of my answer"]`, as the terminal chat and Slack take it; None
    when the text is not a dispute at all."""
    m = COMMAND.fullmatch(text)
    if m is None:
        return None
    rest = m.group(2).strip()
    quoted = QUOTED.search(rest)
    reason = " ".join((rest[: quoted.start()] + " " + rest[quoted.end() :] if quoted else rest).split())
    try:
        return DisputeIn(decision=int(m.group(1)), reason=reason, sentence=quoted.group(1) if quoted else None)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


class Settle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label | None = Field(
        default=None, description="Accept only: the reading that stands, if not the candidate's."
    )
    note: str = Field(default="", max_length=MAX_TEXT)
    reviewer: str = Field(default="reviewer", min_length=1, max_length=100)


class Dispute(BaseModel):
    id: str
    target: str = Field(description="session/<id> or batch/<job>/<line>.")
    trap_id: str
    number: int
    decision: str
    statements: list[Statement]
    decided: str
    reading: Label
    passage: str
    reason: str
    score: int = Field(description="The score as graded.")
    score_if: int = Field(description="The score if the dispute stands.")
    status: Status
    label: Label | None = None
    reviewer: str | None = None
    note: str | None = None
    created: float
    settled: float | None = None


def decisions(grade: Grade, rubric: Rubric) -> list[Decision]:
    """Each criterion point (or each criterion, where the grader decided no points), then each raised and
    each unclear trap, in the order every interface lists them."""
    claims = {c.id: c.claim for c in rubric.criteria}
    statements = {f.id: f.statement for f in rubric.red_flags}
    out: list[dict[str, Any]] = []
    for c in grade.criteria:
        if c.points:
            out += [
                {
                    "key": f"point:{c.id}/{p.id}",
                    "kind": "point",
                    "statement": p.text,
                    "decided": p.status,
                    "evidence": p.evidence,
                }
                for p in c.points
            ]
        else:
            out.append(
                {
                    "key": f"criterion:{c.id}",
                    "kind": "criterion",
                    "statement": claims.get(c.id, c.id),
                    "decided": f"{c.score}/{c.max}",
                    "evidence": c.evidence,
                }
            )
    for flag_id, passage in [*grade.flag_evidence.items(), *grade.unclear_flags.items()]:
        decided = "raised" if flag_id in grade.flag_evidence else "unclear"
        statement = statements.get(flag_id, flag_id)
        out.append(
            {"key": f"flag:{flag_id}", "kind": "flag", "statement": statement, "decided": decided, "evidence": passage}
        )
    return [Decision(number=n, **d) for n, d in enumerate(out, 1)]


def default_reading(decision: Decision) -> Label:
    """The opposite of the decision: what a candidate who disputes it is saying."""
    if decision.kind == "flag":
        return "contradicts"
    return "neither" if decision.decided in ("stated", "2/2") else "entails"


def statements_of(decision: Decision, rubric: Rubric) -> list[Statement]:
    kind, _, ref = decision.key.partition(":")
    if kind == "point":
        return [Statement(ref=ref, text=decision.statement)]
    if kind == "criterion":
        return [Statement(ref=ref, text=next(c.claim for c in rubric.criteria if c.id == ref))]
    flag = next(f for f in rubric.red_flags if f.id == ref)
    return [Statement(ref=f"{flag.id}/{c.id}", text=c.text, claim=True) for c in flag.claims if c.raises]


def _point_readings(points: list[PointResult]) -> list[tuple[Point, checklist.Reading]]:
    return [
        (Point(id=p.id, text=p.text, core=p.core), checklist.Reading(p.status, p.evidence, 0.0, 0.0, 0.0))
        for p in points
    ]


def amended(grade: Grade, rubric: Rubric, decision: Decision, label: Label, passage: str, why: str) -> Grade:
    """The grade with this one decision read as `label` at `passage`, everything that follows from it
    recomputed by the grader's own rules, and a line in `amendments` that says what changed."""
    kind, _, ref = decision.key.partition(":")
    criteria, flags, unclear = list(grade.criteria), dict(grade.flag_evidence), dict(grade.unclear_flags)
    now: str
    if kind == "flag":
        flags.pop(ref, None)
        unclear.pop(ref, None)
        if label == "entails":
            flags[ref] = passage
        now = "raised" if label == "entails" else "not raised"
    else:
        crit_id, _, point_id = ref.partition("/")
        at = next(i for i, c in enumerate(criteria) if c.id == crit_id)
        criteria[at] = _amended_criterion(criteria[at], rubric, point_id, label, passage)
        now = STATUS_OF[label] if point_id else f"{criteria[at].score}/{criteria[at].max}"
    note = f"“{decision.statement}”: {decision.decided}, now {now} ({why})"
    return rescored(
        grade,
        rubric,
        criteria=criteria,
        flag_evidence=flags,
        unclear_flags=unclear,
        amendments=[*grade.amendments, note],
    )


def _amended_criterion(c: CriterionScore, rubric: Rubric, point_id: str, label: Label, passage: str) -> CriterionScore:
    said = label in ("entails", "partial")
    if not point_id:  # a criterion graded without points: its level is the reading's
        score = {"entails": 2, "partial": 1}.get(label, 0)
        return c.model_copy(update={"score": score, "evidence": passage if said else None})
    points = [
        p.model_copy(update={"status": STATUS_OF[label], "evidence": passage if said else None})
        if p.id == point_id
        else p
        for p in c.points
    ]
    full_others = next(r.full_others for r in rubric.criteria if r.id == c.id)
    read = _point_readings(points)
    return c.model_copy(
        update={
            "points": points,
            "score": checklist.level(read, full_others),
            "evidence": checklist.evidence_of(read),
            "rationale": checklist.rationale(read),
        }
    )


def _text(value: str, what: str) -> str:
    if "\x00" in value:
        raise InvalidInputError(f"the {what} holds a NUL byte: send plain text")
    return value.strip()


class Disputes(Store):
    """The disputes of every grade, in the shared database: they survive restarts and any replica sees them."""

    what = "the dispute database"

    def file(
        self,
        target: str,
        trap_id: str,
        grade: Grade,
        rubric: Rubric,
        answer: str,
        body: DisputeIn,
        shown: Callable[[Grade], int] = lambda g: g.score,
    ) -> Dispute:
        """Store a candidate's dispute of one decision; `shown` turns a grade into the score the candidate
        sees (an interview's is less its hints). The grade is not touched."""
        found = decisions(grade, rubric)
        if body.decision > len(found):
            raise InvalidInputError(
                f"no decision {body.decision}: this grade has {len(found)} (numbered 1-{len(found)})"
            )
        decision = found[body.decision - 1]
        passage = decision.evidence
        if body.sentence is not None:
            passage = verify_quote(_text(body.sentence, "sentence"), answer)
            if passage is None:
                raise InvalidInputError("that sentence is not in your answer: copy it as you wrote it")
        if not passage:
            raise InvalidInputError(
                f"decision {decision.number} quotes nothing from your answer: say which sentence shows it"
            )
        reading = body.reading or default_reading(decision)
        score_if = shown(amended(grade, rubric, decision, reading, passage, "if the dispute stands"))
        if self._count(target) >= MAX_PER_GRADE:
            raise InvalidInputError(f"this grade already holds {MAX_PER_GRADE} disputes, the most it takes")
        row = {
            "id": uuid.uuid4().hex[:12],
            "target": target,
            "trap_id": trap_id,
            "number": decision.number,
            "decision": decision.key,
            "statements": json.dumps([s.model_dump() for s in statements_of(decision, rubric)]),
            "decided": decision.decided,
            "reading": reading,
            "passage": passage,
            "reason": _text(body.reason, "reason"),
            "score": shown(grade),
            "score_if": score_if,
            "status": "open",
            "created": time.time(),
        }
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        stored = self._execute(
            f"INSERT INTO disputes ({cols}) VALUES ({marks})"
            " ON CONFLICT (target, decision) WHERE status = 'open' DO NOTHING",
            tuple(row.values()),
        )
        if not stored:
            raise ConflictError(f"decision {decision.number} already has an open dispute; a reviewer settles it first")
        return self._view(row)

    def _count(self, target: str) -> int:
        return int(self._rows("SELECT COUNT(*) AS n FROM disputes WHERE target = ?", (target,))[0]["n"])

    @staticmethod
    def _view(row: dict[str, Any]) -> Dispute:
        return Dispute.model_validate({**row, "statements": json.loads(row["statements"])})

    def of(self, target: str) -> list[Dispute]:
        rows = self._rows("SELECT * FROM disputes WHERE target = ? ORDER BY created", (target,))
        return [self._view(r) for r in rows]

    def listed(self, status: Status | None = None) -> list[Dispute]:
        if status is None:
            return [self._view(r) for r in self._rows("SELECT * FROM disputes ORDER BY created")]
        rows = self._rows("SELECT * FROM disputes WHERE status = ? ORDER BY created", (status,))
        return [self._view(r) for r in rows]

    def get(self, dispute_id: str) -> Dispute:
        rows = self._rows("SELECT * FROM disputes WHERE id = ?", (dispute_id,))
        if not rows:
            raise SessionError(f"unknown dispute '{dispute_id}'")
        return self._view(rows[0])

    def settle(self, dispute_id: str, status: Literal["accepted", "rejected"], settle: Settle) -> Dispute:
        """Mark an open dispute settled (one conditional UPDATE: two reviewers at once cannot both settle
        it). The label is the reading that stands: the candidate's (or the reviewer's) when accepted, the
        grader's own decision when rejected."""
        dispute = self.get(dispute_id)
        if status == "accepted":
            label = settle.label or dispute.reading
        else:
            label = _label_of(dispute.decided, dispute.decision)
        changed = self._execute(
            "UPDATE disputes SET status = ?, label = ?, reviewer = ?, note = ?, settled = ?"
            " WHERE id = ? AND status = 'open'",
            (status, label, settle.reviewer, _text(settle.note, "note"), time.time(), dispute_id),
        )
        if not changed:
            raise ConflictError(f"dispute '{dispute_id}' is already {dispute.status}")
        return self.get(dispute_id)

    def reopen(self, dispute_id: str) -> None:
        """Undo a settlement whose regrading could not be stored."""
        self._execute(
            "UPDATE disputes SET status = 'open', label = NULL, reviewer = NULL, note = NULL, settled = NULL"
            " WHERE id = ?",
            (dispute_id,),
        )


def _label_of(decided: str, key: str) -> Label:
    """The reader's label for the decision as the grader made it."""
    if key.startswith("flag:"):
        return "entails" if decided == "raised" else "partial"
    levels: dict[str, Label] = {"2/2": "entails", "1/2": "partial"}
    if key.startswith("criterion:"):
        return levels.get(decided, "neither")
    back: dict[str, Label] = {"stated": "entails", "partly": "partial", "contradicted": "contradicts"}
    return back.get(decided, "neither")


def training_lines(disputes: list[Dispute]) -> list[dict[str, Any]]:
    """Settled disputes as the reader's training lines (evals/polarity_data.py reads them back): one
    line a dispute, its statements each with the label that stood."""
    lines = []
    for d in disputes:
        if d.status == "open" or d.label is None:
            continue
        assert d.label in LABELS
        lines.append(
            {
                "trap_id": d.trap_id,
                "passage": d.passage,
                "kind": WRITER,
                "dispute": d.id,
                "statements": [{"text": s.text, "label": d.label, "claim": s.claim} for s in d.statements],
            }
        )
    return lines
