"""``cds score``: score a cohort (a Bulk Data export) with every model, or the ones named."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from services.cli.settings import command_settings

if TYPE_CHECKING:
    from services.batch.jobs import Job


@click.command()
@click.argument("source", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for RiskAssessment.ndjson, summary.csv/.parquet, errors.ndjson, report.json.",
)
@click.option("--models", default=None, help="Comma-separated model names (default: all served).")
@click.option(
    "--chunk-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Patients per task.",
)
@click.option(
    "--index-time",
    default=None,
    metavar="ISO",
    help="Score as of this date/time (default: now); also the RiskAssessments' date.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Without a broker: processes scoring in-process.  [default: the cores]",
)
@click.option(
    "--resume",
    "resume_id",
    default=None,
    metavar="JOB_ID",
    help="Finish an interrupted job: stored chunks are kept, the rest are scored.",
)
@click.option(
    "--fhir-server",
    default=None,
    metavar="URL",
    help="With --export: the FHIR server to run a Bulk Data $export on.",
)
@click.option(
    "--export",
    "bulk_export",
    is_flag=True,
    help="Run a system-level $export on --fhir-server (bearer token from "
    "CDS_BULK_TOKEN), download the files and score them.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def score(
    source: Path | None,
    out: Path | None,
    models: str | None,
    chunk_size: int,
    index_time: str | None,
    concurrency: int | None,
    resume_id: str | None,
    fhir_server: str | None,
    bulk_export: bool,
    no_progress: bool,
) -> None:
    """Score every patient of SOURCE with each model: a Bulk Data export folder (one NDJSON
    file per resource type) or the status manifest JSON of a $export.

    With CDS_BROKER_URL set, chunks go to `cds worker` processes through the broker;
    without it they are scored in-process by a pool of processes.
    """
    import orjson
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from tqdm import tqdm

    from adapters.fhirtime import parse_index_time
    from services.batch.jobs import Job
    from services.batch.merge import MergeError
    from services.batch.runner import CeleryBackend, ChunkFailed, PoolBackend, run_job
    from services.inference.catalog import Catalog

    settings = command_settings()
    root = settings.jobs_dir
    if resume_id is not None:
        job = Job(root, resume_id)
        if not job.exists():
            raise click.UsageError(f"no job {resume_id} in {root}")
        record = job.load()
    else:
        if out is None:
            raise click.UsageError("--out is required")
        served = Catalog.from_settings(settings).names
        chosen = models.split(",") if models else served
        unknown = sorted(set(chosen) - set(served))
        if unknown:
            raise click.UsageError(
                f"unknown model(s): {', '.join(unknown)}; served: {', '.join(served)}"
            )
        try:
            at = parse_index_time(index_time).isoformat(timespec="seconds")
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        job, record = Job.create(
            root,
            input="",
            out=str(out.resolve()),
            models=chosen,
            index_time=at,
            chunk_size=chunk_size,
            memory_budget=settings.ndjson_memory_mb * 1024 * 1024,
        )
        token = settings.bulk_token.get_secret_value() if settings.bulk_token else None
        try:
            record.input = str(_input_folder(job, source, fhir_server, bulk_export, token))
        except click.ClickException:
            record.state = "failed"
            raise
        finally:
            job.save(record)
    click.echo(f"job {job.id}", err=True)
    if settings.broker_url:
        backend = CeleryBackend(job.id)
    else:
        backend = PoolBackend(concurrency or os.cpu_count() or 1)
    with tqdm(
        total=record.total or None, unit="patient", disable=no_progress, dynamic_ncols=True
    ) as bar:

        def progress(done: int, total: int) -> None:
            if total != bar.total:
                bar.total = total
            bar.update(done)

        try:
            report = run_job(job, record, backend, progress)
        except (ChunkFailed, MergeError) as exc:
            raise click.ClickException(f"job {job.id} failed: {exc}") from None
        except KeyboardInterrupt:
            click.echo(f"\ninterrupted; resume with: cds score --resume {job.id}", err=True)
            raise SystemExit(130) from None
        except (OperationalError, RedisConnectionError) as exc:
            raise click.ClickException(
                f"broker unreachable ({exc}); once it is back: cds score --resume {job.id}"
            ) from None
    click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


def _input_folder(
    job: Job, source: Path | None, fhir_server: str | None, export: bool, token: str | None
) -> Path:
    """The Bulk Data folder to read: SOURCE itself, or files downloaded into the job folder
    from a $export (run now, or the one whose status manifest SOURCE is)."""
    from services.batch.export import ExportError, download_manifest, run_export

    if export or fhir_server:
        if not (export and fhir_server) or source is not None:
            raise click.UsageError("use --fhir-server URL --export, without SOURCE")
        target = job.dir / "input"
        try:
            return run_export(fhir_server, target, token=token)
        except ExportError as exc:
            raise click.ClickException(f"$export: {exc}") from None
    if source is None:
        raise click.UsageError("SOURCE is required (or --fhir-server URL --export)")
    if source.is_file() and source.suffix == ".json":
        target = job.dir / "input"
        try:
            return download_manifest(source, target, token=token)
        except ExportError as exc:
            raise click.ClickException(f"$export manifest: {exc}") from None
    return source.resolve()
