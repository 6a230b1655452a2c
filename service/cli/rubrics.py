"""`interviewer rubrics ...`: stamp reviewed rubrics, and draft new ones for a bank's cards."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from service.catalog import answer_hash, load_card
from service.cli.common import fail
from service.config import get_settings

app = typer.Typer(help="Keep rubrics in step with their cards.", no_args_is_help=True)
_DERIVED = re.compile(r"^derived_from:.*$", re.MULTILINE)


@app.command("rehash")
def rehash(trap_ids: list[str] = typer.Argument(None, help="Default: every rubric.")) -> None:
    """Record that a person reviewed these rubrics against their cards' current correct answers."""
    s = get_settings()
    paths = [s.rubrics_dir / f"{t}.yaml" for t in trap_ids] if trap_ids else sorted(s.rubrics_dir.glob("*.yaml"))
    changed = 0
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such rubric")
        card = load_card(s.seeds_dir / path.name)
        stamp = f"derived_from: {answer_hash(card.correct_answer)}"
        text = path.read_text(encoding="utf-8")
        new = (
            _DERIVED.sub(stamp, text)
            if _DERIVED.search(text)
            else re.sub(r"^(trap_id:.*)$", rf"\1\n{stamp}", text, count=1, flags=re.MULTILINE)
        )
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    typer.echo(f"stamped {changed} of {len(paths)} rubric(s)")


@app.command("derive")
def derive(
    trap_id: str = typer.Argument(..., help="The card's id: <bank>:<id> (or <id> with --bank)."),
    bank: Path | None = typer.Option(None, help="The bank folder, when it is not in INTERVIEWER_BANKS."),
    model: bool = typer.Option(True, help="Draft with the configured model; --no-model: from the answer's claims."),
    force: bool = typer.Option(False, help="Overwrite a rubric that exists."),
) -> None:
    """Draft the card's rubric: anchors verbatim from its answer, weights summing to 100, the hash stamped."""
    import asyncio

    from service.banks import derive as draft
    from service.banks import locate, write_rubric

    s = get_settings()
    card_path, rubric_path = locate(trap_id, s, bank)
    if rubric_path.exists() and not force:
        fail(f"{rubric_path} exists; --force to draft it again")
    card, rubric = asyncio.run(draft(card_path, s, use_model=model and s.mode == "llm"))
    write_rubric(card, rubric, rubric_path)
    typer.echo(
        f"wrote {rubric_path} ({len(rubric.criteria)} criteria, {len(rubric.red_flags)} red flags): "
        "review it, write each hint, then `interviewer traps check --bank`"
    )
