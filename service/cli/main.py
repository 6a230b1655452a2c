"""The `interviewer` command: one Typer app made of command groups, one module each."""

from __future__ import annotations

import logging
import signal
import sys

import typer

from service.cli import chat, db, evals, grade, logs, model, rubrics, serve, settings, train, traps
from service.cli.common import Group
from service.config import offline_environment

app = typer.Typer(
    help="LLM-graded mock interviewer for senior ML / LLM engineering traps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
)
app.add_typer(traps.app, name="traps")
app.add_typer(evals.app, name="eval")
app.add_typer(rubrics.app, name="rubrics")
app.add_typer(model.app, name="model")
app.add_typer(train.app, name="train")
app.add_typer(db.app, name="db")
app.command("index")(traps.build_index)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.command("grade")(grade.grade)
app.command("settings")(settings.settings)
app.command("logs")(logs.logs)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
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
