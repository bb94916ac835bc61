"""``cds jobs``: the batch jobs in CDS_JOBS_DIR and how far each got."""

from __future__ import annotations

import click
import orjson

from services.cli.settings import command_settings


@click.group()
def jobs() -> None:
    """Batch scoring jobs (`cds score`)."""


@jobs.command("list")
def list_command() -> None:
    """One line per job, newest first: id, state, patients done / total, errors."""
    from services.batch.jobs import job_status, list_jobs

    for job in list_jobs(command_settings().jobs_dir):
        s = job_status(job)
        click.echo(f"{s['id']}  {s['state']:<11}  {s['done']}/{s['total']}  errors {s['errors']}")


@jobs.command("status")
@click.argument("job_id")
def status(job_id: str) -> None:
    """A job's state and progress as JSON (the same as GET /jobs/JOB_ID)."""
    from services.batch.jobs import Job, job_status

    job = Job(command_settings().jobs_dir, job_id)
    if not job.exists():
        raise click.ClickException(f"no job {job_id}")
    click.echo(orjson.dumps(job_status(job), option=orjson.OPT_INDENT_2).decode())
