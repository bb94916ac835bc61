"""The ``cds`` command line. Each command lives in its own module here and imports
its heavy dependencies (TensorFlow, FastAPI, Celery) only when it runs."""

from __future__ import annotations

import os

import click

# TensorFlow's C++ start-up chatter (CPU features, no CUDA device) is not ours to show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from services.cli.cohort import cohort
from services.cli.features import features
from services.cli.feedback import feedback
from services.cli.grpc import grpc_api
from services.cli.jobs import jobs
from services.cli.model_server import model_server
from services.cli.models import models
from services.cli.probe import probe
from services.cli.score import score
from services.cli.serve import serve
from services.cli.train import train
from services.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="precision-cds")
def main() -> None:
    """Precision CDS: clinical decision support from FHIR and deep-learning models."""


main.add_command(features)
main.add_command(cohort)
main.add_command(model_server)
main.add_command(train)
main.add_command(models)
main.add_command(grpc_api)
main.add_command(serve)
main.add_command(feedback)
main.add_command(probe)
main.add_command(score)
main.add_command(worker)
main.add_command(jobs)
