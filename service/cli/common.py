"""What every command group shares: settings, JSON output, and the one-line failure."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn, cast, get_args

import typer
from rich.console import Console
from typer.core import TyperGroup

from service.errors import InterviewerError
from service.grading.models import Mode

console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one line on stderr, non-zero exit, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def mode_option(value: str | None) -> Mode | None:
    """Typer callback of every --mode option: llm or semantic."""
    if value is not None and value not in get_args(Mode):
        raise typer.BadParameter(f"'{value}' is not a mode: use {' or '.join(get_args(Mode))}")
    return cast(Mode | None, value)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")


class Group(TyperGroup):
    """The top-level group: our errors become one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InterviewerError as exc:
            fail(exc.message)
