"""`interviewer grade INPUT.jsonl -o OUT.jsonl`: batch grading with progress, resumable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from service.cli.common import console, fail, mode_option
from service.config import get_settings


def grade(
    source: Path = typer.Argument(..., help="JSON Lines: trap answers, question+reference answers, or transcripts."),
    output: Path = typer.Option(..., "-o", "--output", help="JSON Lines of grades; re-runs resume it."),
    mode: str | None = typer.Option(None, help="llm or semantic (default: from settings).", callback=mode_option),
    concurrency: int = typer.Option(8, min=1, max=256),
    csv_path: Path | None = typer.Option(None, "--csv", help="Also write a CSV (default: OUT with .csv)."),
    html_path: Path | None = typer.Option(None, "--html", help="Also write an HTML report (default: OUT with .html)."),
    summary: bool = typer.Option(False, "--summary", help="Print a table of the results."),
    engine: str = typer.Option("local", help="local: this process; ray: a pool of grader actors on Ray Data."),
    fmt: str | None = typer.Option(
        None, "--format", help="langsmith: also write OUT.langsmith.jsonl, {key, score, comment} per criterion."
    ),
    address: str | None = typer.Option(None, help="With --engine ray: the cluster (default: a local runtime)."),
) -> None:
    """Grade every line; a bad line gets an error record and never stops the batch."""
    from service.batch import report
    from service.batch.runner import Summary, grade_file
    from service.grading.factory import make_grader
    from service.runtime import Runtime

    if not source.exists():
        fail(f"{source}: no such file")
    if engine not in ("local", "ray"):
        fail(f"--engine must be local or ray, not '{engine}'")
    if fmt not in (None, "langsmith"):
        fail(f"--format must be langsmith, not '{fmt}'")
    settings = get_settings().model_copy(update={"concurrency": concurrency})
    bar = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} lines/s"),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task("grade", total=_count_lines(source), rate="0.0", failed=0)
    rt = Runtime.build(settings)  # its catalog names the traps in the report, whichever engine grades

    def progress(s: Summary) -> None:
        bar.update(task, completed=s.graded + s.errors + s.skipped, rate=f"{s.rate:.1f}", failed=s.errors)

    with bar:
        if engine == "ray":
            from service.batch.ray_engine import grade_file_ray

            result = grade_file_ray(
                source, output, settings, mode_option(mode), concurrency=concurrency, address=address, progress=progress
            )
        else:
            grader = make_grader(settings=settings, mode=mode_option(mode))
            result = asyncio.run(
                grade_file(source, output, grader, rt.catalog, rt.index, concurrency=concurrency, progress=progress)
            )
    records = report.rows(output)
    if fmt == "langsmith":
        _write_feedback(output, output.with_suffix(".langsmith.jsonl"))
    report.write_csv(records, csv_path or output.with_suffix(".csv"))
    report.write_html(
        records,
        html_path or output.with_suffix(".html"),
        f"Grades of {source.name}",
        rt.catalog,
        report.answers_of(source),
    )
    typer.echo(
        f"{result.graded} graded, {result.errors} errors, {result.skipped} already graded, "
        f"{len(result.duplicates)} duplicate ids skipped in {result.seconds:.1f} s "
        f"({result.rate:.1f} lines/s); wrote {output}",
        err=True,
    )
    if result.duplicates:
        typer.echo(f"duplicate ids: {', '.join(result.duplicates[:10])}", err=True)
    if summary:
        s = report.stats(records)
        table = Table("trap", "mean score", title=f"{s['graded']} graded, {s['errors']} errors, mean {s['mean_score']}")
        for trap_id, mean in s["by_trap"].items():
            table.add_row(trap_id, str(mean))
        console.print(table)
        for flag, n in s["red_flags"]:
            console.print(f"red flag {flag}: {n}")
        for flag, n in s["unclear_flags"]:
            console.print(f"read weakly, not capped, {flag}: {n}")


def _count_lines(path: Path) -> int:
    """Non-empty lines, counted in 1 MB blocks so the ETA costs no memory whatever the file size."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _write_feedback(output: Path, path: Path) -> None:
    """One line per id: openevals / LangSmith evaluator results for its grade, or its error."""
    import json

    from service.batch.output import latest
    from service.exports import langsmith_feedback
    from service.grading.models import Grade

    with path.open("w", encoding="utf-8") as fh:
        for rec in latest(output).values():
            if "error" in rec:
                line = {"id": rec.get("id"), "error": rec["error"]}
            else:
                grade = Grade.model_validate({k: v for k, v in rec.items() if k not in ("id", "trap_retrieved")})
                line = {"id": rec["id"], "trap_id": grade.trap_id, "feedback": langsmith_feedback(grade)}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
