"""`interviewer train ...`: reproduce the shipped models from committed data."""

from __future__ import annotations

from pathlib import Path

import typer

from service.cli.common import console, emit_json

app = typer.Typer(help="Train the grader's models from committed data (CPU; tests never train).", no_args_is_help=True)


@app.command("polarity")
def polarity(
    out: Path | None = typer.Option(None, help="Where to write the model; default: the package's own copy."),
    epochs: int = typer.Option(
        1, help="Passes over the training pairs (the project's pairs are repeated 3x within one)."
    ),
    force: bool = typer.Option(False, help="Replace the model even when the new one does not measure better."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The entailment cross-encoder: SemEval fold 0 + odd-numbered traps' polarity pairs, fixed seed.

    Needs the training extras (`pip install -e '.[train]'`); about 23 minutes on one core here.
    """
    from service.grading import training
    from service.grading.entailment import MODEL_DIR

    card = training.train(out or MODEL_DIR, training.Recipe(epochs=epochs), force=force)
    if as_json:
        emit_json(card)
        return
    console.print_json(data=card)
