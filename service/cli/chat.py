"""`interviewer chat`: a whole interview in the terminal, the interviewer's words shown as they come."""

from __future__ import annotations

from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from service.cli.common import console
from service.config import get_settings

HELP = "Answer in as many messages as you like. Type 'hint' for a hint (costs points), 'finish' to end."


def chat(
    trap: str | None = typer.Option(None, "--trap", help="A trap id, e.g. llm-46."),
    topic: str | None = typer.Option(None, "--topic", help="Free text, e.g. 'GPU memory'."),
    user: str = typer.Option("me", "--user", help="Your name, so progress is kept per user."),
) -> None:
    """Run a mock interview in the terminal."""
    from service.agent.session import Interviewer

    interviewer = Interviewer(get_settings())
    console.print(f"[dim]{HELP} (mode: {interviewer.mode})[/dim]\n")
    reply = _show(interviewer.stream_start(trap_id=trap, topic=topic, user=user))
    while reply.status != "finished":
        try:
            message = console.input("[bold green]you> [/bold green]")
        except (EOFError, KeyboardInterrupt):
            console.print(f"\n[dim]Paused. Session {reply.session_id} is saved.[/dim]")
            return
        if not message.strip():
            continue
        reply = _show(interviewer.stream_reply(reply.session_id, message))
    _report(reply.report or {})


def _show(events: Any) -> Any:
    final = None
    streaming = False
    for ev in events:
        if ev["type"] == "delta":  # words as the model produces them (checked sentence by sentence)
            if not streaming:
                console.print("[bold cyan]interviewer>[/bold cyan] ", end="")
                streaming = True
            console.print(ev["text"], end="", soft_wrap=True)
        elif ev["type"] == "interviewer":
            if streaming:
                console.print("\n")
                streaming = False
            else:
                console.print(f"[bold cyan]interviewer>[/bold cyan] {ev['text']}\n")
        elif ev["type"] == "final":
            final = ev["reply"]
            for notice in final.notices:
                console.print(f"[yellow]note: {notice}[/yellow]")
    return final


def _report(rep: dict[str, Any]) -> None:
    grade = rep.get("grade") or {}
    table = Table("criterion", "score", "evidence (your words)", title=f"{rep.get('trap_id')} — {rep.get('title')}")
    for c in grade.get("criteria", []):
        table.add_row(c["id"], f"{c['score']}/{c['max']}", (c.get("evidence") or "—")[:120])
    console.print(table)
    console.print(
        f"[bold]Score {rep.get('score')}/100 — {rep.get('verdict')}[/bold]"
        f" (hints cost {rep.get('hint_penalty', 0)} points)"
    )
    if grade.get("red_flags"):
        console.print(f"[red]Fell into the trap: {', '.join(grade['red_flags'])}[/red]")
    for label, key in (("Strong", "strong"), ("Missing", "missing")):
        for item in rep.get(key, []):
            console.print(f"{label}: {item}")
    console.print(Panel(rep.get("trap_explained", ""), title="The trap"))
    console.print(Panel(rep.get("model_answer", ""), title="Model answer"))
