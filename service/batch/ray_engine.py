"""`interviewer grade --engine ray`: the same batch graded by a pool of grader actors, with Ray Data.

The driver reads the JSON Lines and applies the local engine's rules: blank lines skipped, an id the
output already has a grade for skipped, an unchanged line that failed for its own reason reported
again without a retry (the resume rule), a repeated id skipped and reported. The
lines left become a Dataset of (line number, line) rows; map_batches sends them through a pool of
actors, each with its own Runtime and grader (so the embedder loads once per actor, not per line),
and each batch's records come back to the driver, which appends them to OUT one whole line at a
time, exactly as the local engine does: same records, same per-line errors, and a killed run
resumes the same way.

Concurrency means the same as for the local engine, model calls in flight: `concurrency` is spread
over the actors (`actors`, default one per CPU Ray has), each running its share on an event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from service.batch.output import Output
from service.batch.records import Item, LineError, line_id, parse
from service.batch.runner import Progress, Subjects, Summary, record_of, to_grade
from service.config import Settings
from service.errors import InvalidInputError
from service.grading.models import Mode

ROWS_PER_BATCH = 8  # rows an actor grades at once: small, so results stream back while the rest run


class GraderActor:
    """One actor of the pool: built once, then called with batch after batch of rows."""

    def __init__(self, settings: dict[str, Any], mode: Mode | None, in_flight: int) -> None:
        from service.config import offline_environment
        from service.grading.factory import make_grader
        from service.runtime import Runtime

        offline_environment()
        self.settings = Settings.model_validate(settings)
        self.runtime = Runtime.build(self.settings)
        self.grader = make_grader(settings=self.settings, mode=mode)
        self.in_flight = in_flight
        self.memo: Subjects = {}
        self.loop = asyncio.new_event_loop()  # one loop for the actor's life: the model clients stay on it

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = list(zip(batch["number"], batch["line"], strict=True))
        records = self.loop.run_until_complete(self._grade(rows))
        return {"number": batch["number"], "record": [json.dumps(r, ensure_ascii=False) for r in records]}

    async def _grade(self, rows: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
        slots = asyncio.Semaphore(self.in_flight)
        catalog, index, limit = self.runtime.catalog, self.runtime.index, self.settings.max_answer_chars

        async def one(number: int, line: str) -> dict[str, Any]:
            async with slots:
                try:
                    item: Item | LineError = await asyncio.to_thread(parse, line, number, catalog, index, limit)
                except LineError as exc:
                    item = exc
                return await record_of(item, self.grader, catalog, self.memo, number, line)

        return await asyncio.gather(*(one(int(n), str(line)) for n, line in rows))


def _plan(source: Path, out: Output, summary: Summary) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    with source.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            summary.lines += 1
            if to_grade(line_id(line), number, line, seen, out, summary):
                rows.append({"number": number, "line": line})
    return rows


def grade_file_ray(
    source: Path,
    output: Path,
    settings: Settings,
    mode: Mode | None,
    *,
    concurrency: int = 8,
    address: str | None = None,
    actors: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Grade SOURCE into OUTPUT on the Ray cluster at `address` (a local runtime when None)."""
    try:
        import ray
    except ImportError as exc:
        raise InvalidInputError("--engine ray needs Ray Data: pip install -e '.[ray]'") from exc

    out, summary, start = Output(output), Summary(), time.perf_counter()
    rows = _plan(source, out, summary)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the command draws its own
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        if rows:
            pool = actors or max(1, min(int(ray.cluster_resources().get("CPU", 1)), concurrency))
            graded = ray.data.from_items(rows).map_batches(
                GraderActor,
                fn_constructor_kwargs={
                    "settings": settings.model_dump(),
                    "mode": mode,
                    "in_flight": math.ceil(concurrency / pool),
                },
                batch_size=ROWS_PER_BATCH,
                compute=ray.data.ActorPoolStrategy(size=pool),
                num_cpus=1,
            )
            for row in graded.iter_rows():
                record = json.loads(row["record"])
                out.write(record, int(row["number"]))
                summary.count(record)
                summary.seconds = time.perf_counter() - start
                if progress:
                    progress(summary)
    finally:
        out.close()
        if started_here:
            ray.shutdown()
    summary.seconds = time.perf_counter() - start
    return summary
