"""`interviewer eval ...`: each eval prints a table, or one JSON object with --json."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from service import runtime
from service.cli.common import console, emit_json

app = typer.Typer(help="Measure retrieval, grading and the interviewer.", no_args_is_help=True)


@app.command("retrieval")
def retrieval(
    queries: Path | None = typer.Option(None, help="JSON Lines of {query, trap_id}; default evals/retrieval."),
    as_json: bool = typer.Option(False, "--json"),
    show_misses: bool = typer.Option(False, "--misses", help="List the queries ranked wrong."),
) -> None:
    """Top-1, top-3 and MRR of the retrieval queries, per method (hybrid is what the product uses)."""
    from evals import retrieval as ev

    result = ev.run(runtime.index(), queries or ev.DEFAULT_QUERIES)
    if as_json:
        emit_json(result)
        return
    table = Table("method", "top-1", "top-3", "MRR", title=f"retrieval: {result['queries']} queries")
    for method, m in result["methods"].items():
        table.add_row(method, f"{m['top1']:.3f}", f"{m['top3']:.3f}", f"{m['mrr']:.3f}")
    console.print(table)
    if show_misses:
        for miss in result["misses"]:
            console.print(f"- {miss['expected']} <- {miss['query']!r}: got {miss['got']}")
