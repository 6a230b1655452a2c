"""`interviewer rubrics ...`: stamp reviewed rubrics, and draft new ones with the LLM."""

from __future__ import annotations

import re

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
