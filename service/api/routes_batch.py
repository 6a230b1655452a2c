"""POST /batch (a JSON Lines body) → job id; GET /batch/{id} → progress, then the results."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from service import runtime
from service.api import deps
from service.batch.output import latest
from service.batch.runner import Summary, run_batch
from service.config import Settings
from service.errors import InvalidInputError, SessionError
from service.grading.factory import make_grader
from service.llm.client import run_sync

router = APIRouter()
_jobs: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()
MAX_UPLOAD = 512 * 1024 * 1024


def _job(job_id: str) -> dict[str, Any]:
    with _lock:
        job = _jobs.get(job_id)
    if job is None:
        raise SessionError(f"unknown batch job '{job_id}'")
    return job


@router.post("/batch", status_code=202)
async def submit(
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    mode: str | None = Query(None, pattern="^(llm|semantic)$"),
    concurrency: int = Query(8, ge=1, le=256),
) -> dict[str, Any]:
    """Upload JSON Lines as the request body; grading runs in the background."""
    job_id = uuid.uuid4().hex[:12]
    folder = settings.data_dir / "batch"
    folder.mkdir(parents=True, exist_ok=True)
    source, output = folder / f"{job_id}.in.jsonl", folder / f"{job_id}.out.jsonl"
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
    job: dict[str, Any] = {"id": job_id, "state": "running", "graded": 0, "errors": 0, "skipped": 0, "duplicates": []}
    with _lock:
        _jobs[job_id] = job
    own = settings.model_copy(update={"concurrency": concurrency})
    threading.Thread(target=_work, args=(job, own, source, output, mode, concurrency), daemon=True).start()
    return {"id": job_id, "state": "running", "status_url": f"/batch/{job_id}"}


def _work(job: dict[str, Any], settings: Settings, source: Path, output: Path, mode: str | None, n: int) -> None:
    def progress(s: Summary) -> None:
        job.update(graded=s.graded, errors=s.errors, skipped=s.skipped, lines_per_s=round(s.rate, 2))

    try:
        grader = make_grader(settings=settings, mode=mode)  # type: ignore[arg-type]
        summary = run_sync(
            run_batch(
                source,
                output,
                grader,
                runtime.catalog(settings),
                runtime.index(settings),
                concurrency=n,
                progress=progress,
            )
        )
        progress(summary)
        job.update(state="done", duplicates=summary.duplicates, output=str(output))
    except Exception as exc:  # the job reports its failure; the service carries on
        job.update(state="failed", detail=str(exc))


@router.get("/batch/{job_id}")
def status(
    job_id: str, results: bool = Query(False, description="Include the graded records when done.")
) -> dict[str, Any]:
    job = dict(_job(job_id))
    if results and job["state"] == "done":
        job["results"] = list(latest(Path(job["output"])).values())
    job.pop("output", None)
    return job


@router.get("/batch/{job_id}/results", response_class=FileResponse)
def results_file(job_id: str) -> FileResponse:
    job = _job(job_id)
    if job["state"] != "done":
        raise InvalidInputError(f"batch job '{job_id}' is {job['state']}; poll /batch/{job_id} until it is done")
    return FileResponse(job["output"], media_type="application/x-ndjson")
