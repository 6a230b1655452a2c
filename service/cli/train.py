"""`interviewer train ...`: reproduce the shipped models from committed data."""

from __future__ import annotations

from pathlib import Path

import typer

from service.cli.common import console, emit_json

app = typer.Typer(help="Train the grader's models from committed data (CPU; tests never train).", no_args_is_help=True)


@app.command("polarity")
def polarity(
    out: Path | None = typer.Option(None, help="Where to write the model; default: the package's own copy."),
    data: Path | None = typer.Option(None, help="Folder of writer folders; default evals/reader."),
    epochs: int = typer.Option(3, help="Passes over the training pairs."),
    threads: int = typer.Option(2, help="Torch threads; 1 when the other core is busy (two threads then stall)."),
    force: bool = typer.Option(False, help="Replace the model even when the new one does not measure better."),
    with_disputes: Path | None = typer.Option(
        None, "--with-disputes", help="Settled disputes (`interviewer disputes export`) to train on as well."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The reader: the seen writers' pairs on seen traps + SemEval fold 0, fixed seed, int8 ONNX.

    Needs the training extras (`pip install -e '.[train]'`); over an hour on two idle cores here (docs/development.md).
    """
    from service.grading import training
    from service.grading.entailment import MODEL_DIR
    from service.runtime import Runtime

    card = training.train(
        Runtime.build().catalog,
        out or MODEL_DIR,
        training.Recipe(epochs=epochs, threads=threads),
        force=force,
        reader_dir=data,
        disputes=with_disputes,
    )
    if as_json:
        emit_json(card)
        return
    console.print_json(data=card)
