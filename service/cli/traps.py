"""`interviewer traps ...` and `interviewer index`: browse, search and check the catalog."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from service.checks import check_bank, check_content
from service.cli.common import console, emit_json, fail
from service.config import get_settings
from service.grading.text import unwrap
from service.index import TrapIndex
from service.runtime import Runtime

app = typer.Typer(help="Browse, search and check the trap catalog.", no_args_is_help=True)


@app.command("list")
def list_traps(
    series: str | None = typer.Option(None, help="mlsd, llm or adl."),
    tag: str | None = typer.Option(None, help="Only cards with this tag."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the traps."""
    traps = Runtime.build().catalog.filter(series=series, tag=tag)
    if as_json:
        emit_json(
            [{"id": t.id, "title": t.card.title, "tags": t.card.tags, "difficulty": t.card.difficulty} for t in traps]
        )
        return
    table = Table("id", "title", "difficulty", "tags")
    for t in traps:
        table.add_row(t.id, t.card.title, t.card.difficulty, ", ".join(t.card.tags))
    console.print(table)


@app.command("show")
def show(trap_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one trap card and its rubric."""
    trap = Runtime.build().catalog.get(trap_id)
    if as_json:
        emit_json({"card": trap.card.model_dump(), "rubric": trap.rubric.model_dump()})
        return
    c = trap.card
    # Card text is hard-wrapped YAML and writes tensors as W[o,i,k]: unwrapped for the terminal to wrap,
    # and escaped so rich does not take the brackets for its markup.
    console.print(
        f"[bold]{c.id} — {escape(c.title)}[/bold]  ({escape(c.setting)}; {c.difficulty}; {', '.join(c.tags)})\n"
    )
    for label, text in (("Question", c.question), ("The trap", c.trap), ("Correct answer", c.correct_answer)):
        console.print(f"[bold]{label}[/bold]\n{escape(unwrap(text))}\n")
    console.print("[bold]Follow-ups[/bold]")
    for f in c.follow_ups:
        console.print(f"- {escape(unwrap(f.question))}\n  [dim]{escape(unwrap(f.good_answer))}[/dim]")
    console.print(f"\n[bold]Rubric[/bold] (pass mark {trap.rubric.pass_mark})")
    for cr in trap.rubric.criteria:
        console.print(f"- \\[{cr.weight}] {cr.id}: {escape(cr.description)}")
    for rf in trap.rubric.red_flags:
        console.print(f"- red flag (cap {rf.cap}): {escape(rf.statement)}")


@app.command("search")
def search(
    text: str,
    series: str | None = typer.Option(None, help="mlsd, llm or adl."),
    tag: str | None = typer.Option(None),
    k: int = typer.Option(5, "-k", min=1, max=49),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find traps by free text: a topic, a symptom, a question you half remember."""
    hits = Runtime.build().index.search(text, k=k, series=series, tag=tag)
    if as_json:
        emit_json([{"id": h.trap_id, "title": h.title, "score": h.score} for h in hits])
        return
    table = Table("rank", "id", "title", "score")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), h.trap_id, h.title, f"{h.score:.4f}")
    console.print(table)


@app.command("check")
def check(
    bank: Path | None = typer.Option(None, help="Check only this bank folder (traps/, rubrics/, bank.yaml)."),
) -> None:
    """Validate every card and rubric (the built-in ones against their source, then each bank in
    INTERVIEWER_BANKS), or one bank; non-zero exit on problems, each naming the file and the field."""
    s = get_settings()
    if bank is not None:
        problems, what = check_bank(bank), f"{bank}: {len(list((bank / 'traps').glob('*.yaml')))} cards"
    else:
        problems = check_content(s.seeds_dir, s.rubrics_dir, s.seeds_dir.parent / "interview-traps.txt")
        for folder in s.banks:
            problems += check_bank(folder)
        what = f"{len(list(s.seeds_dir.glob('*.yaml')))} cards" + "".join(
            f" + {len(list((b / 'traps').glob('*.yaml')))} in {b}" for b in s.banks
        )
    if problems:
        for p in problems:
            typer.echo(p, err=True)
        fail(f"{len(problems)} problem(s) in the content")
    typer.echo(f"ok: {what} and their rubrics are valid and current")


@app.command("new")
def new(
    bank: Path = typer.Option(..., help="The bank folder; made if it does not exist."),
    question: str = typer.Option(..., help="The scenario and what is asked (or @FILE)."),
    answer: str = typer.Option(..., help="The expert answer, 150-400 words (or @FILE)."),
    series: str = typer.Option("q", help="The id's prefix: ids are <series>-<n>."),
    title: str | None = typer.Option(None, help="Default: the question's first words."),
) -> None:
    """Scaffold a card from a question and a reference answer; TODO marks what is yours to write."""
    from service.banks import new_card

    def text(value: str) -> str:
        return Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value

    path = new_card(bank, text(question), text(answer), series, title)
    typer.echo(f"wrote {path}: fill in each TODO, then run `interviewer rubrics derive --bank {bank} {path.stem}`")


def build_index() -> None:
    """Build (or rebuild) the retrieval index of the cards."""
    start = time.perf_counter()
    idx = TrapIndex(Runtime.build().catalog, get_settings())
    n = idx.build()
    typer.echo(f"indexed {len(idx.catalog)} cards as {n} chunks in {time.perf_counter() - start:.1f} s")
