"""The `interviewer` command: one Typer app made of command groups, one module each."""

from __future__ import annotations

import logging
import signal
import sys

import typer

from service import __version__
from service.cli import chat, db, disputes, evals, grade, logs, model, rubrics, serve, settings, train, traps
from service.cli.common import Group
from service.config import offline_environment

app = typer.Typer(
    help="LLM-graded mock interviewer for senior ML / LLM engineering traps.",
    pretty_exceptions_enable=False,
    cls=Group,
)
app.add_typer(traps.app, name="traps")
app.add_typer(evals.app, name="eval")
app.add_typer(rubrics.app, name="rubrics")
app.add_typer(model.app, name="model")
app.add_typer(train.app, name="train")
app.add_typer(db.app, name="db")
app.add_typer(disputes.app, name="disputes")
app.command("index")(traps.build_index)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.command("grade")(grade.grade)
app.command("settings")(settings.settings)
app.command("logs")(logs.logs)


FIRST_STEPS = f"""interviewer {__version__}: mock interviews on ML / LLM engineering traps, graded against rubrics.

First, once per machine:
  interviewer model prepare --embedder-only   export the sentence embedder (seconds); grading needs it
  interviewer index                           build the search index of the traps
Then:
  interviewer traps list                      the traps, by id
  interviewer chat --trap mlsd-35             an interview in the terminal
  interviewer grade IN.jsonl -o OUT.jsonl     grade a file of answers
  interviewer serve                           the web app, REST and WebSocket on http://127.0.0.1:8000

Questions are phrased by a model: the embedded one (pip install 'interviewer[local]', then
`interviewer model prepare`) or any litellm model (INTERVIEWER_MODEL); INTERVIEWER_MODE=semantic
asks the cards' own questions with no model. Every command: interviewer --help; every setting:
interviewer settings."""


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"interviewer {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _main(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    if ctx.invoked_subcommand is None:  # a bare `interviewer`: what to do first, not the whole reference
        typer.echo(FIRST_STEPS)
        raise typer.Exit()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    offline_environment()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """End through the normal exit path, so atexit handlers stop the model servers we started.

    Python's default for SIGTERM (docker stop, systemd, kill) ends the process outright and orphans
    them; uvicorn shuts down gracefully on SIGTERM but then re-raises it under that default.
    """
    sys.exit(128 + signum)


if __name__ == "__main__":
    app()
