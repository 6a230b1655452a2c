"""What every command group shares: settings, JSON output, and the one-line failure."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from service.errors import InterviewerError

console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one line on stderr, non-zero exit, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")


class Group(TyperGroup):
    """The top-level group: our errors become one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InterviewerError as exc:
            fail(exc.message)
