"""POST /batch (a JSON Lines body) → job id; GET /batch/{id} → progress, then the results.

Jobs live in the data dir's SQLite file (service/batch/jobs.py): a restarted service still answers
for them, and resumes the ones it was running when it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from service.api import deps
from service.api.models import BatchAccepted, BatchJob
from service.batch.jobs import BatchJobs, paths
from service.batch.output import latest
from service.batch.runner import Summary, run_batch
from service.config import Settings
from service.errors import InvalidInputError, SessionError
from service.grading.factory import make_grader
from service.grading.models import Mode
from service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()
MAX_UPLOAD = 512 * 1024 * 1024
PROGRESS_EVERY = 0.5  # seconds between progress writes: one per graded line would be a commit per line


def _job(jobs: BatchJobs, job_id: str) -> dict[str, Any]:
    job = jobs.get(job_id)
    if job is None:
        raise SessionError(f"unknown batch job '{job_id}'")
    return job


@router.post("/batch", status_code=202, response_model=BatchAccepted)
async def submit(
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)],
    mode: Mode | None = None,
    concurrency: int = Query(8, ge=1, le=256),
) -> BatchAccepted:
    """Upload JSON Lines as the request body; grading runs in the background."""
    job_id = uuid.uuid4().hex[:12]
    source, _ = paths(settings.data_dir, job_id)
    source.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with source.open("wb") as fh:  # streamed to disk: a large upload is never held in memory
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD:
                fh.close()
                source.unlink()
                raise InvalidInputError(
                    f"upload over {MAX_UPLOAD >> 20} MB; use `interviewer grade` for files this big"
                )
            fh.write(chunk)
    if size == 0:
        source.unlink()
        raise InvalidInputError("empty upload: send JSON Lines as the request body")
    jobs.add(job_id, mode, concurrency)
    start(request.app, jobs, deps.runtime(request), job_id, mode, concurrency)
    return BatchAccepted(id=job_id, status_url=f"/batch/{job_id}")


def start(app: Any, jobs: BatchJobs, rt: Runtime, job_id: str, mode: Mode | None, concurrency: int) -> None:
    """Run the job as a task on the app's event loop; the app holds it until it ends."""
    task = asyncio.create_task(_work(jobs, rt, job_id, mode, concurrency), name=f"batch-{job_id}")
    running: set[asyncio.Task[None]] = app.state.batch_tasks
    running.add(task)
    task.add_done_callback(running.discard)


def resume_orphans(app: Any, jobs: BatchJobs, rt: Runtime) -> None:
    """Restart the jobs a stopped service left running (called once as the service starts)."""
    for job_id, mode, concurrency in jobs.orphans():
        log.info("resuming batch job %s", job_id)
        start(app, jobs, rt, job_id, mode, concurrency)


async def _work(jobs: BatchJobs, rt: Runtime, job_id: str, mode: Mode | None, n: int) -> None:
    settings = rt.settings.model_copy(update={"concurrency": n})
    source, output = paths(settings.data_dir, job_id)
    last = 0.0

    def progress(s: Summary, final: bool = False) -> None:
        nonlocal last
        if final or time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            jobs.update(job_id, graded=s.graded, errors=s.errors, skipped=s.skipped, lines_per_s=round(s.rate, 2))

    try:
        grader = make_grader(settings=settings, mode=mode)
        summary = await run_batch(source, output, grader, rt.catalog, rt.index, concurrency=n, progress=progress)
        progress(summary, final=True)
        jobs.update(job_id, state="done", duplicates=summary.duplicates)
    except Exception as exc:  # the job reports its failure; the service carries on
        jobs.update(job_id, state="failed", detail=str(exc))


@router.get("/batch/{job_id}", response_model=BatchJob, response_model_exclude_none=True)
def status(
    job_id: str,
    settings: Annotated[Settings, Depends(deps.settings)],
    jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)],
    results: bool = Query(False, description="Include the graded records when done."),
) -> BatchJob:
    job = BatchJob.model_validate(_job(jobs, job_id))
    if results and job.state == "done":
        job.results = list(latest(paths(settings.data_dir, job_id)[1]).values())
    return job


@router.get(
    "/batch/{job_id}/results",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One JSON line per input line."}},
)
def results_file(
    job_id: str,
    settings: Annotated[Settings, Depends(deps.settings)],
    jobs: Annotated[BatchJobs, Depends(deps.batch_jobs)],
) -> FileResponse:
    job = _job(jobs, job_id)
    if job["state"] != "done":
        raise InvalidInputError(f"batch job '{job_id}' is {job['state']}; poll /batch/{job_id} until it is done")
    return FileResponse(paths(settings.data_dir, job_id)[1], media_type="application/x-ndjson")
