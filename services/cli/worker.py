"""``cds worker``: a Celery worker scoring batch chunks, with its Prometheus endpoint."""

from __future__ import annotations

import os
import sys
import tempfile

import click

from services.cli.settings import command_settings


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes, each with its own copy of the models.  [default: the cores]",
)
@click.option("--hostname", default=None, help="Worker name (Celery's -n), e.g. batch1@%h.")
def worker(concurrency: int | None, hostname: str | None) -> None:
    """Score batch chunks sent through CDS_BROKER_URL (results to CDS_RESULT_BACKEND).

    Models load in each worker process after the fork. Prometheus metrics of all the
    processes are served on CDS_WORKER_METRICS_PORT (0: none).
    """
    settings = command_settings()
    if not settings.broker_url:
        raise click.UsageError("CDS_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    if settings.worker_metrics_port:
        _serve_metrics(settings.worker_metrics_port)
    from services.batch.celery_app import app
    from services.logs import configure_logging

    configure_logging(settings.log_level)
    argv = ["worker", "--pool", "prefork", "--loglevel", settings.log_level]
    argv += ["--concurrency", str(concurrency or os.cpu_count() or 1)]
    if hostname:
        argv += ["--hostname", hostname]
    app.worker_main(argv)


def _serve_metrics(port: int) -> None:
    """Serve the metrics of every worker process from this (the parent) process.

    prometheus_client's multiprocess mode: the children write their values to files
    in PROMETHEUS_MULTIPROC_DIR, which must be set before prometheus_client is imported.
    """
    if "prometheus_client" in sys.modules and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        raise RuntimeError("prometheus_client was imported before multiprocess mode was set")
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="cds-worker-metrics-")
    )
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        raise click.ClickException(f"metrics port {port}: {exc}") from None
