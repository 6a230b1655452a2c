"""The `interviewer` command: one Typer app made of command groups, one module each."""

from __future__ import annotations

import logging
import typer

from service.cli import evals, serve, traps
from service.cli.common import fail
from service.config import offline_environment
from service.errors import InterviewerError

app = typer.Typer(help="LLM-graded mock interviewer for senior ML / LLM engineering traps.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(traps.app, name="traps")
app.add_typer(evals.app, name="eval")
app.command("index")(traps.build_index)
app.command("serve")(serve.serve)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    offline_environment()


def run() -> None:
    try:
        app()
    except InterviewerError as exc:
        fail(exc.message)
