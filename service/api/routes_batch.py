"""POST /batch (a JSON Lines body) → job id; GET /batch/{id} → progress, then the results.

Jobs live in the shared database (service/batch/jobs.py): any replica answers for any job, and a job
whose replica died is taken over by another when its lease runs out, and goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from service.api import deps
from service.api.models import BatchAccepted, BatchJob
from service.batch.jobs import PAGE, BatchJobs
from service.batch.runner import Summary, run_batch
from service.errors import ConflictError, InvalidInputError, SessionError, StorageError
from service.grading.factory import make_grader
from service.grading.models import Mode
from service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()
MAX_UPLOAD = 512 * 1024 * 1024
PROGRESS_EVERY = 0.5  # seconds between progress writes: one per graded line would be a commit per line
Tasks = dict[str, "asyncio.Task[None]"]


def _job(jobs: BatchJobs, job_id: str) -> dict[str, Any]:
    job = jobs.get(job_id)
    if job is None:
        raise SessionError(f"unknown batch job '{job_id}'")
    return job


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    operation_id="submit_batch",
    responses={
        202: {
            "description": "The job, accepted.",
            "links": {
                name: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
                for name, operation in (("Status", "batch_status"), ("Results", "batch_results"))
            },
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {  # read as raw bytes whatever the type says
                media: {"schema": {"type": "string", "minLength": 1}}
                for media in ("application/x-ndjson", "text/plain")
            },
            "description": "JSON Lines: one answer, reference answer or transcript per line.",
        }
    },
)
async def submit(
    request: Request,
    jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)],
    mode: Mode | None = None,
    concurrency: int = Query(8, ge=1, le=256),
) -> BatchAccepted:
    """Upload JSON Lines as the request body; grading runs in the background."""
    job_id = uuid.uuid4().hex[:12]
    size, number, rest, pending = 0, 1, b"", []
    async for chunk in request.stream():  # stored a page of lines at a time: never held whole in memory
        size += len(chunk)
        if size > MAX_UPLOAD:
            jobs.drop(job_id)
            raise InvalidInputError(f"upload over {MAX_UPLOAD >> 20} MB; use `interviewer grade` for files this big")
        *complete, rest = (rest + chunk).split(b"\n")
        pending += [line.decode("utf-8", errors="replace") for line in complete]
        if len(pending) >= PAGE:
            number, pending = jobs.add_lines(job_id, pending, number), []
    if rest:
        pending.append(rest.decode("utf-8", errors="replace"))
    jobs.add_lines(job_id, pending, number)
    if size == 0:
        raise InvalidInputError("empty upload: send JSON Lines as the request body")
    jobs.add(job_id, mode, concurrency)
    start(request.app, jobs, deps.runtime(request), job_id, mode, concurrency)
    return BatchAccepted(id=job_id, status_url=f"/batch/{job_id}")


def start(app: Any, jobs: BatchJobs, rt: Runtime, job_id: str, mode: Mode | None, concurrency: int) -> None:
    """Run the job as a task on the app's event loop; the app holds it until it ends."""
    running: Tasks = app.state.batch_tasks
    task = running[job_id] = asyncio.create_task(_work(jobs, rt, job_id, mode, concurrency), name=f"batch-{job_id}")
    task.add_done_callback(lambda _: running.pop(job_id, None))


async def keep_leases(app: Any, jobs: BatchJobs, rt: Runtime) -> None:
    """This replica's part in the leases, for as long as it runs: renew the jobs it runs, stop any it
    lost (it stalled past its lease and another replica took over), and take those whose owner died.
    A job whose task the database's going away stopped is run again here, where it stopped, once the
    database is back; while it is away, this loop waits and tries again."""
    running: Tasks = app.state.batch_tasks
    while True:
        try:
            owned = jobs.renew()
            for job_id, task in list(running.items()):
                if job_id not in owned:
                    log.warning("batch job %s: lease lost to another replica; stopping here", job_id)
                    task.cancel()
            for job_id, (mode, concurrency) in owned.items():
                if job_id not in running:
                    log.info("batch job %s: running again where it stopped", job_id)
                    start(app, jobs, rt, job_id, mode, concurrency)
            for job_id, mode, concurrency in jobs.claim_expired():
                log.info("batch job %s: taken over, resuming where it stopped", job_id)
                start(app, jobs, rt, job_id, mode, concurrency)
        except StorageError as exc:
            log.warning("batch leases: %s", exc.message)
        await asyncio.sleep(jobs.lease / 3)


async def stop_jobs(app: Any, jobs: BatchJobs) -> None:
    """A clean stop: the running jobs are cancelled and their leases released, for the next replica."""
    running: Tasks = app.state.batch_tasks
    for task in list(running.values()):
        task.cancel()
    await asyncio.gather(*running.values(), return_exceptions=True)
    jobs.release()


async def _work(jobs: BatchJobs, rt: Runtime, job_id: str, mode: Mode | None, n: int) -> None:
    settings = rt.settings.model_copy(update={"concurrency": n})
    last = 0.0

    def progress(s: Summary, final: bool = False) -> None:
        nonlocal last
        if final or time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            jobs.update(job_id, graded=s.graded, errors=s.errors, skipped=s.skipped, lines_per_s=round(s.rate, 2))

    try:
        grader = make_grader(settings=settings, mode=mode)
        lines, out = jobs.lines(job_id), jobs.output(job_id)
        summary = await run_batch(lines, out, grader, rt.catalog, rt.index, concurrency=n, progress=progress)
        progress(summary, final=True)
        jobs.update(job_id, state="done", duplicates=summary.duplicates)
    except StorageError as exc:  # not the job's failure: keep_leases runs it again when the database is back
        log.warning("batch job %s stopped: %s", job_id, exc.message)
    except Exception as exc:  # the job reports its failure; the service carries on
        jobs.update(job_id, state="failed", detail=str(exc))


@router.get("/batch/{job_id}", response_model=BatchJob, response_model_exclude_none=True, operation_id="batch_status")
def status(
    job_id: str,
    jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)],
    results: bool = Query(False, description="Include the graded records when done."),
) -> BatchJob:
    job = BatchJob.model_validate(_job(jobs, job_id))
    if results and job.state == "done":
        job.results = list(jobs.results(job_id))
    return job


@router.get(
    "/batch/{job_id}/results",
    operation_id="batch_results",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One JSON line per input line."}},
)
def results_file(job_id: str, jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)]) -> StreamingResponse:
    job = _job(jobs, job_id)
    if job["state"] != "done":
        raise ConflictError(f"batch job '{job_id}' is {job['state']}; poll /batch/{job_id} until it is done")

    def lines() -> Iterator[str]:
        for record in jobs.results(job_id):
            yield json.dumps(record, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
