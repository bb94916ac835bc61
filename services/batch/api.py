"""``GET /jobs``: batch job status for the HTTP service (and the console).

Job records hold no patient data; the summary table does (patient ids), so it is
served only in development (``CDS_DEV_DISABLE_AUTH``), never behind real auth
where the caller's right to a whole cohort is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from services.batch.jobs import SUMMARY_FILE, Job, job_status, list_jobs
from services.cds_hooks import errors
from services.settings import Settings, get_settings

router = APIRouter(tags=["batch jobs"])
_JOB_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _settings(request: Request) -> Settings:
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings if runtime is not None else get_settings()


def _job(request: Request, job_id: str) -> Job | None:
    if not _JOB_ID.match(job_id):  # never a path outside the jobs folder
        return None
    job = Job(_settings(request).jobs_dir, job_id)
    return job if job.exists() else None


@router.get("/jobs")
def jobs(request: Request) -> Response:
    """Every job, newest first."""
    found = list_jobs(_settings(request).jobs_dir)
    return errors.json_response({"jobs": [job_status(j) for j in found]})


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> Response:
    """One job's state and progress."""
    found = _job(request, job_id)
    if found is None:
        return errors.not_found("job with that id")
    return errors.json_response(job_status(found))


@router.get("/jobs/{job_id}/summary.csv", response_model=None)
def summary(request: Request, job_id: str) -> Response:
    """The job's summary table (patient ids included): development only."""
    if not _settings(request).dev_disable_auth:
        return errors.operation_outcome(
            403,
            [
                errors.issue(
                    "forbidden",
                    "the summary names patients; it is served only in development "
                    "(CDS_DEV_DISABLE_AUTH); read it from the job's output folder",
                )
            ],
        )
    found = _job(request, job_id)
    path = Path(found.load().out) / SUMMARY_FILE if found is not None else None
    if path is None or not path.is_file():
        return errors.not_found("summary for that job")
    return FileResponse(path, media_type="text/csv", filename=f"{job_id}-{SUMMARY_FILE}")
