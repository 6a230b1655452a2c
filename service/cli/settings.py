"""`interviewer settings`: every setting, its default and meaning, from the Settings fields themselves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from service.cli.common import fail
from service.config import Settings

# Paths into the checkout and names the tests point elsewhere: not knobs a user turns.
INTERNAL = frozenset({"seeds_dir", "rubrics_dir", "prompts_dir", "collection", "slack_api_url"})
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _default(field: Any) -> str:
    extra = field.json_schema_extra or {}
    if "shown" in extra:
        return str(extra["shown"])
    if field.default_factory is not None:
        return str(field.default_factory())
    return "unset" if field.default is None else str(field.default)


def table() -> str:
    """The settings as a Markdown table: one row per field a user may set."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if name not in INTERNAL:
            rows.append(f"| `INTERVIEWER_{name.upper()}` | `{_default(field)}` | {field.description} |")
    return "\n".join(rows)


def settings(
    write: Path | None = typer.Option(None, help=f"Replace the table between {START} and {END} in this file."),
) -> None:
    """Print every setting (INTERVIEWER_* variables or .env) with its default and meaning."""
    if write is None:
        typer.echo(table())
        return
    text = write.read_text(encoding="utf-8")
    block = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        fail(f"{write}: no {START} ... {END} block to fill")
    write.write_text(block.sub(lambda _: f"{START}\n{table()}\n{END}", text), encoding="utf-8")
