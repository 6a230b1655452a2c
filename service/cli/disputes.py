"""`interviewer disputes list|accept|reject|export`: the reviewer's side of disputes, on the shared database.

Settling here needs no token: whoever runs the CLI against the database is its operator. Export is the
only way a dispute leaves the machine, and the operator runs it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Literal

import typer
from rich.markup import escape
from rich.table import Table

from service.cli.common import console, emit_json
from service.config import get_settings
from service.disputes import Dispute, Disputes, Settle, training_lines

app = typer.Typer(help="Candidates' disputes of grading decisions: list, settle, export as training pairs.")
Label = Literal["entails", "partial", "contradicts", "neither"]


def _show(disputes: list[Dispute]) -> None:
    table = Table("id", "grade", "decision", "decided → says", "score (if it stands)", "reason", "status")
    for d in disputes:
        table.add_row(
            d.id,
            d.target,
            f"{d.number}. {escape(d.statements[0].text if d.statements else d.decision)}",
            f"{d.decided} → {d.reading}",
            f"{d.score} ({d.score_if})",
            escape(d.reason or "-"),
            d.status + (f" by {d.reviewer}" if d.reviewer else ""),
        )
    console.print(table)


@app.command("list")
def listed(
    status: str = typer.Option("open", help="open, accepted, rejected or all."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The disputes, open ones by default."""
    if status not in ("open", "accepted", "rejected", "all"):
        raise typer.BadParameter(f"'{status}' is not a status: open, accepted, rejected or all")
    found = Disputes(get_settings()).listed(None if status == "all" else status)  # type: ignore[arg-type]
    if as_json:
        emit_json([d.model_dump() for d in found])
        return
    _show(found) if found else console.print(f"no {'' if status == 'all' else status + ' '}disputes")


def _settle(dispute_id: str, accept: bool, settle: Settle) -> Dispute:
    from service.agent.session import Interviewer
    from service.batch.jobs import BatchJobs
    from service.grades import StoredGrades
    from service.runtime import Runtime

    settings = get_settings()

    async def run() -> Dispute:
        async with Interviewer.open(Runtime.build(settings)) as iv:
            grades = StoredGrades(iv, BatchJobs(settings), Disputes(settings))
            return await (grades.accept if accept else grades.reject)(dispute_id, settle)

    return asyncio.run(run())


@app.command("accept")
def accept(
    dispute_id: str,
    label: str | None = typer.Option(None, help="The reading that stands, if not the candidate's."),
    note: str = typer.Option("", help="Why, shown in the grade's amendments."),
    reviewer: str = typer.Option("reviewer", help="Who settled it."),
) -> None:
    """The dispute stands: the stored grade is regraded and says so."""
    d = _settle(dispute_id, True, Settle.model_validate({"label": label, "note": note, "reviewer": reviewer}))
    console.print(f"accepted {d.id}: {d.target} now scores {d.score_if} (was {d.score})")


@app.command("reject")
def reject(
    dispute_id: str,
    note: str = typer.Option("", help="Why the decision stands."),
    reviewer: str = typer.Option("reviewer", help="Who settled it."),
) -> None:
    """The decision stands as graded."""
    d = _settle(dispute_id, False, Settle(note=note, reviewer=reviewer))
    console.print(f"rejected {d.id}: {d.target} keeps its score {d.score}")


@app.command("export")
def export(
    out: Path = typer.Argument(..., help="A JSON Lines file for `interviewer train polarity --with-disputes`."),
) -> None:
    """Settled disputes as the reader's training pairs (writer "dispute"); open ones are left out."""
    lines = training_lines(Disputes(get_settings()).listed(None))
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    pairs = sum(len(line["statements"]) for line in lines)
    console.print(f"wrote {len(lines)} settled disputes ({pairs} pairs) to {out}")
