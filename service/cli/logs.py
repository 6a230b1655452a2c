"""`interviewer logs [-n N] [--json]`: the model calls this data dir (or the shared database) logged.

Shaped after simonw/llm's `llm logs`: newest last, each call with its model, role, tokens, latency,
cost, then the prompt's messages and the response, in Markdown; `--json` gives the rows as they are.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer

from service.config import get_settings


def logs(
    n: int = typer.Option(3, "-n", "--n", min=1, help="How many of the latest calls."),
    as_json: bool = typer.Option(False, "--json", help="The rows as JSON, messages decoded."),
) -> None:
    """Show the latest model calls: model, tokens, latency, cost, prompt and response."""
    from service.llm.calllog import CallLog

    rows = CallLog(get_settings()).rows(last=n)
    for row in rows:
        row["messages"] = json.loads(row["messages"] or "[]")
        row["ok"] = bool(row["ok"])
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no model calls logged yet")
    for row in rows:
        typer.echo(_markdown(row))


def _markdown(row: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(row["ts"], UTC).strftime("%Y-%m-%dT%H:%M:%S")
    tokens = f"{row['prompt_tokens'] or '?'} → {row['completion_tokens'] or '?'} tokens"
    cost = f", ${row['cost_usd']:.6f}" if row["cost_usd"] else ""
    status = "ok" if row["ok"] else f"failed: {row['error']}"
    parts = [
        f"# {when}  {row['model']} ({row['role']}, attempt {row['attempt']})",
        f"{tokens}, {row['latency_ms']:.0f} ms{cost}; {status}",
        "",
        "## Prompt",
        "",
    ]
    for message in row["messages"]:
        parts += [f"**{message.get('role', '?')}**: {message.get('content', '')}", ""]
    parts += ["## Response", "", row["response"] or "(none)", ""]
    return "\n".join(parts)
