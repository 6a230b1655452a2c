"""What every command group shares: settings, JSON output, and the one-line failure."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one line on stderr, non-zero exit, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")
