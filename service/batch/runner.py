"""Grade a JSON Lines file with bounded concurrency, streaming it so memory stays flat as it grows."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.batch.output import Output, Sink, input_sha, record_key
from service.batch.records import Item, LineError, parse
from service.catalog import Catalog
from service.embeddings import offload
from service.errors import InterviewerError, ModelError, StorageError
from service.grading.grader import Grader
from service.grading.models import Grade
from service.grading.reference import reference_subject
from service.grading.subject import Subject
from service.index import TrapIndex

log = logging.getLogger(__name__)
_STOP = object()


@dataclass
class Summary:
    lines: int = 0
    graded: int = 0
    errors: int = 0
    skipped: int = 0  # already graded by an earlier run
    duplicates: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, record: dict[str, Any]) -> None:
        if "error" in record:
            self.errors += 1
        else:
            self.graded += 1

    @property
    def rate(self) -> float:
        return self.graded / self.seconds if self.seconds else 0.0


Progress = Callable[[Summary], None]
Subjects = dict[tuple[str, str], Subject]


async def subject_of(item: Item, grader: Grader, catalog: Catalog, memo: Subjects) -> Subject:
    """What the item is graded against; a reference answer's rubric is derived once per `memo`."""
    if item.trap_id is not None:
        return Subject.from_trap(catalog.get(item.trap_id))
    assert item.question is not None and item.reference is not None
    key = (item.question, item.reference)
    if key not in memo:
        memo[key] = await reference_subject(item.question, item.reference, llm=grader.llm, settings=grader.settings)
    return memo[key]


async def grade_of(item: Item, grader: Grader, catalog: Catalog, memo: Subjects | None = None) -> Grade:
    """The item's grade, with score_scaled when it names a max_score: the same for a batch line and POST /grade."""
    grade = await grader.agrade(await subject_of(item, grader, catalog, {} if memo is None else memo), item.answer)
    if item.max_score is not None:
        grade = grade.model_copy(update={"score_scaled": round(grade.score / 100 * item.max_score, 2)})
    return grade


async def record_of(
    item: Item | LineError, grader: Grader, catalog: Catalog, memo: Subjects, number: int, line: str
) -> dict[str, Any]:
    """A line's output record: its grade, or its error; whichever engine grades it. An error says whether
    a re-run should try the line again (a model's failure may pass; the line's own problem will not)."""
    if isinstance(item, LineError):
        return _error(item.record_id, item.message, number, None if item.retryable else line)
    try:
        grade = await grade_of(item, grader, catalog, memo)
    except (ModelError, StorageError) as exc:  # may pass on a re-run
        return _error(item.id, exc.message, number, None)
    except InterviewerError as exc:
        return _error(item.id, exc.message, number, line)
    except Exception as exc:  # a bug must cost one line, not the batch; a fixed bug's re-run retries it
        log.exception("line %s failed", item.id)
        return _error(item.id, f"internal error: {type(exc).__name__}: {exc}", number, None)
    rec: dict[str, Any] = {"id": item.id, **grade.model_dump()}
    if item.retrieved:
        rec["trap_retrieved"] = True
    return rec


def _error(rid: str | None, message: str, number: int, final_for: str | None) -> dict[str, Any]:
    """An error record; `final_for`, the line, when only a change to it can change the outcome."""
    rec: dict[str, Any] = {"id": rid, "error": message, "retryable": final_for is None}
    if rid is None:
        rec["line"] = number  # the record's key when the line has no id
    if final_for is not None:
        rec["input_sha"] = input_sha(final_for)
    return rec


def to_grade(rid: str | None, number: int, line: str, seen: set[str], out: Sink, summary: Summary) -> bool:
    """The resume rule, for either engine: False for a repeated id (reported), an id already graded
    (skipped), or an unchanged line that failed for its own reason (reported again, not retried)."""
    if rid is not None:
        if rid in seen:
            summary.duplicates.append(rid)
            log.warning("line %d: duplicate id %r skipped", number, rid)
            return False
        seen.add(rid)
    settled = out.settled(record_key(rid, number), line)
    if settled == "graded":
        summary.skipped += 1
    elif settled == "failed":
        summary.errors += 1
    return settled is None


async def run_batch(
    source: Iterable[str],
    out: Sink,
    grader: Grader,
    catalog: Catalog,
    index: TrapIndex | None,
    *,
    concurrency: int = 8,
    progress: Progress | None = None,
) -> Summary:
    """Grade each line of `source` (a file, or a job's stored lines) into `out`, skipping the ids it has."""
    summary = Summary()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency * 2)  # bounded: the file is never loaded whole
    subjects: Subjects = {}
    start = time.perf_counter()

    def tick() -> None:
        summary.seconds = time.perf_counter() - start
        if progress:
            progress(summary)

    async def produce() -> None:
        seen: set[str] = set()
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            summary.lines += 1
            try:  # offloaded: a transcript without its trap_id is matched by the embedder
                item: Item | LineError = await offload(
                    parse, line, number, catalog, index, grader.settings.max_answer_chars
                )
            except LineError as exc:
                item = exc
            rid = item.id if isinstance(item, Item) else item.record_id
            if to_grade(rid, number, line, seen, out, summary):
                await queue.put((number, item, line))
        for _ in range(concurrency):
            await queue.put(_STOP)

    async def work() -> None:
        while (entry := await queue.get()) is not _STOP:
            number, item, line = entry
            rec = await record_of(item, grader, catalog, subjects, number, line)
            out.write(rec, number)
            summary.count(rec)
            tick()

    try:
        await asyncio.gather(produce(), *(work() for _ in range(concurrency)))
    finally:
        out.close()
    tick()
    return summary


async def grade_file(source: Path, output: Path, *args: Any, **kwargs: Any) -> Summary:
    """run_batch from a JSON Lines file into one: a re-run resumes the output, skipping what it graded."""
    with source.open(encoding="utf-8", errors="replace") as lines:
        return await run_batch(lines, Output(output), *args, **kwargs)
