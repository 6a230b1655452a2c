"""`interviewer chat`: a whole interview in the terminal, the interviewer's words shown as they come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from service.cli.common import console
from service.config import get_settings
from service.errors import InterviewerError, ModelError, StorageError

if TYPE_CHECKING:
    from service.agent.report import Report
    from service.agent.session import Event, Interviewer, Reply

HELP = "Answer in as many messages as you like. Type 'hint' for a hint (costs points), 'finish' to end."
DISPUTE_HELP = (
    'A decision looks wrong? Type: dispute N your reason "the sentence of your answer that shows it" '
    "(the quoted sentence is needed where the decision quotes nothing). An empty line ends."
)


def chat(
    trap: str | None = typer.Option(None, "--trap", help="A trap id, e.g. llm-46."),
    topic: str | None = typer.Option(None, "--topic", help="Free text, e.g. 'GPU memory'."),
    user: str = typer.Option("me", "--user", help="Your name, so progress is kept per user."),
    resume: str | None = typer.Option(None, "--resume", help="A paused session's id: continue where it stopped."),
) -> None:
    """Run a mock interview in the terminal."""
    asyncio.run(_chat(trap, topic, user, resume))


async def _chat(trap: str | None, topic: str | None, user: str, resume: str | None) -> None:
    from service.agent.session import Interviewer
    from service.runtime import Runtime

    async with Interviewer.open(Runtime.build(get_settings())) as interviewer:
        console.print(f"[dim]{HELP} (mode: {interviewer.mode})[/dim]\n")
        if resume:
            reply = _notices(await interviewer.resume(resume))
            console.print(f"[bold cyan]interviewer>[/bold cyan] {escape(reply.message)}\n")
        else:
            reply = _notices(await _shown(interviewer.stream_start(trap_id=trap, topic=topic, user=user)))
            if reply.alternatives:
                others = ", ".join(f"{a['trap_id']} ({a['title']})" for a in reply.alternatives)
                console.print(
                    f"[dim]Chosen for your topic: {reply.trap_id}. Also close: {escape(others)}. "
                    f"To practise one instead: interviewer chat --trap ID[/dim]\n"
                )
        unsent: str | None = None  # a message whose turn the database or the model failed: kept to send again
        while reply.status != "finished":
            try:
                # Read on the loop itself: the terminal has one user, and nothing else runs while they type.
                message = console.input("[bold green]you> [/bold green]")
            except (EOFError, KeyboardInterrupt):
                console.print(f"\n[dim]Paused. Continue with: interviewer chat --resume {reply.session_id}[/dim]")
                return
            if not message.strip():
                if unsent is None:
                    continue
                message = unsent
            try:
                reply = _notices(await _shown(interviewer.stream_reply(reply.session_id, message)))
                unsent = None
            except InterviewerError as exc:
                console.print(f"\n[red]{escape(exc.message)}[/red]")
                if isinstance(exc, StorageError | ModelError):
                    unsent = message
                    console.print("[dim]Your message is kept: press Enter to send it again.[/dim]")
        if reply.report is not None:
            _report(reply.report, interviewer.catalog.criterion_words(reply.report.trap_id))
            if reply.report.grade is not None:
                await _disputes(interviewer, reply.session_id)


async def _disputes(interviewer: Interviewer, session_id: str) -> None:
    """After the report: each decision numbered, and `dispute N reason` to say one is wrong."""
    from service.batch.jobs import BatchJobs
    from service.disputes import Disputes, parse_command
    from service.grades import StoredGrades, session_target

    settings = interviewer.settings
    grades = StoredGrades(interviewer, BatchJobs(settings), Disputes(settings))
    target = session_target(session_id)
    table = Table("#", "decision", "about", title="Each decision, numbered")
    for decision in await grades.decisions(target):
        table.add_row(str(decision.number), decision.decided, escape(decision.statement))
    console.print(table)
    console.print(f"[dim]{DISPUTE_HELP}[/dim]")
    while True:
        try:
            line = console.input("[bold green]you> [/bold green]")
        except (EOFError, KeyboardInterrupt):
            return
        if not line.strip():
            return
        try:
            body = parse_command(line)
            if body is None:
                console.print(f"[dim]{DISPUTE_HELP}[/dim]")
                continue
            d = await grades.file(target, body)
        except InterviewerError as exc:
            console.print(f"[red]{escape(exc.message)}[/red]")
            continue
        console.print(
            f"Decision {d.number} disputed: score {d.score}, or {d.score_if} if it stands. "
            "The grade changes only when a reviewer accepts it (interviewer disputes list)."
        )


async def _shown(events: AsyncIterator[Event]) -> Reply:
    """Prints the interviewer's words as the model produces them (checked sentence by sentence)."""
    streaming = False
    async for ev in events:
        if ev["type"] == "final":
            return ev["reply"]  # type: ignore[no-any-return]
        if ev["type"] == "delta":
            if not streaming:
                console.print("[bold cyan]interviewer>[/bold cyan] ", end="")
                streaming = True
            console.print(escape(ev["text"]), end="", soft_wrap=True)
        elif streaming:  # the whole turn, already shown word by word
            console.print("\n")
            streaming = False
        else:
            console.print(f"[bold cyan]interviewer>[/bold cyan] {escape(ev['text'])}\n")
    raise AssertionError("a run always ends with its reply")


def _notices(reply: Reply) -> Reply:
    for notice in reply.notices:
        console.print(f"[yellow]note: {escape(notice)}[/yellow]")
    return reply


def _report(rep: Report, words: dict[str, str]) -> None:
    """The report, each criterion in its own words (its id when the catalog has none for it)."""
    table = Table("criterion", "score", "evidence (your words)", title=f"{rep.trap_id} — {rep.title}")
    for c in rep.grade.criteria if rep.grade else []:
        table.add_row(
            escape(words.get(c.id, c.id)), f"{c.score}/{c.max}", escape(" ".join((c.evidence or "—").split()))
        )
    console.print(table)
    console.print(f"[bold]Score {rep.score}/100 — {rep.verdict}[/bold] (hints cost {rep.hint_penalty} points)")
    for flag in rep.red_flags:
        console.print(f"[red]Fell into the trap: {escape(flag.statement)}[/red]")
        console.print(f"[red]  You said: “{escape(' '.join(flag.evidence.split()))}”[/red]")
    for change in rep.grade.amendments if rep.grade else []:
        console.print(f"[cyan]Changed after a dispute: {escape(change)}[/cyan]")
    for label, items in (("Strong", rep.strong), ("Missing", rep.missing)):
        for item in items:
            console.print(f"{label}: {escape(item)}")
    console.print(Panel(escape(rep.trap_explained), title="The trap"))
    console.print(Panel(escape(rep.model_answer), title="Model answer"))
