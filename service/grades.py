"""The grades a candidate can dispute, wherever they are kept: an interview's report (its checkpoint)
or a batch job's result line. One place loads and stores them, so every interface (REST, the web page,
the terminal chat, Slack, the CLI) files and settles disputes the same way.

Targets are named `session/<id>` and `batch/<job>/<line>`. Only answers to the catalog's traps can be
disputed: a grade against a caller's own reference answer has no stored rubric to regrade by.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from service.agent.session import Interviewer
from service.batch.jobs import BatchJobs
from service.batch.records import LineError, parse
from service.catalog import Trap
from service.disputes import Decision, Dispute, DisputeIn, Disputes, Settle, amended, decisions
from service.errors import InvalidInputError
from service.grading.models import Grade
from service.grading.scoring import after_hints


@dataclass
class Graded:
    target: str
    trap: Trap
    grade: Grade
    answer: str  # the text the grade read: a quote must come from it
    shown: Callable[[Grade], int]  # the score the candidate sees for a grade (an interview's is less its hints)


def session_target(session_id: str) -> str:
    return f"session/{session_id}"


def batch_target(job_id: str, line_no: int) -> str:
    return f"batch/{job_id}/{line_no}"


class StoredGrades:
    def __init__(self, interviewer: Interviewer, jobs: BatchJobs, disputes: Disputes) -> None:
        self.interviewer, self.jobs, self.disputes = interviewer, jobs, disputes

    async def load(self, target: str) -> Graded:
        kind, _, rest = target.partition("/")
        if kind == "session":
            trap, report, answer = await self.interviewer.graded(rest)
            assert report.grade is not None  # graded() refuses a session with no grade
            hints = len(report.hints)
            return Graded(target, trap, report.grade, answer, lambda g: after_hints(g.score, hints)[0])
        job_id, _, line = rest.partition("/")
        if kind != "batch" or not line.isdigit():
            raise InvalidInputError(f"unknown grade '{target}': session/<id> or batch/<job>/<line>")
        iv = self.interviewer
        record, text = await asyncio.to_thread(self.jobs.graded_line, job_id, int(line))
        if "error" in record:
            raise InvalidInputError(f"line {line} was not graded ({record['error']}): nothing to dispute")
        grade = Grade.model_validate(record)
        if grade.trap_id is None or grade.trap_id not in iv.catalog:
            raise InvalidInputError(
                f"line {line} was graded against its own reference answer: only trap answers can be disputed"
            )
        try:
            item = await asyncio.to_thread(parse, text, int(line), iv.catalog, iv.index, iv.settings.max_answer_chars)
        except LineError as exc:
            raise InvalidInputError(f"line {line} cannot be read again ({exc.message})") from exc
        return Graded(target, iv.catalog.get(grade.trap_id), grade, item.answer, lambda g: g.score)

    async def save(self, target: str, grade: Grade) -> None:
        kind, _, rest = target.partition("/")
        if kind == "session":
            await self.interviewer.amend(rest, grade)
            return
        job_id, _, line = rest.partition("/")
        record, _ = await asyncio.to_thread(self.jobs.graded_line, job_id, int(line))
        await asyncio.to_thread(self.jobs.amend, job_id, int(line), {**record, **grade.model_dump()})

    async def decisions(self, target: str) -> list[Decision]:
        graded = await self.load(target)
        return decisions(graded.grade, graded.trap.rubric)

    async def file(self, target: str, body: DisputeIn) -> Dispute:
        g = await self.load(target)
        return await asyncio.to_thread(
            self.disputes.file, target, g.trap.id, g.grade, g.trap.rubric, g.answer, body, g.shown
        )

    async def accept(self, dispute_id: str, settle: Settle) -> Dispute:
        """Settle the dispute as accepted, then regrade the stored grade with the reading that stands. If
        the grade cannot be stored, the dispute is opened again: nothing is half-done."""
        dispute = await asyncio.to_thread(self.disputes.settle, dispute_id, "accepted", settle)
        try:
            g = await self.load(dispute.target)
            now = {d.key: d for d in decisions(g.grade, g.trap.rubric)}
            decision = now.get(dispute.decision) or Decision(
                number=dispute.number,
                key=dispute.decision,
                kind=dispute.decision.partition(":")[0],  # type: ignore[arg-type]
                statement=dispute.statements[0].text,
                decided=dispute.decided,
                evidence=dispute.passage,
            )
            assert dispute.label is not None
            why = f"dispute {dispute.id}, accepted by {settle.reviewer}" + (f": {settle.note}" if settle.note else "")
            regraded = amended(g.grade, g.trap.rubric, decision, dispute.label, dispute.passage, why)
            await self.save(dispute.target, regraded)
        except BaseException:
            await asyncio.to_thread(self.disputes.reopen, dispute_id)
            raise
        return dispute

    async def reject(self, dispute_id: str, settle: Settle) -> Dispute:
        return await asyncio.to_thread(self.disputes.settle, dispute_id, "rejected", settle)
