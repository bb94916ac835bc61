"""Fixtures for batch scoring: a small real cohort, the shipped models, jobs run inline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from services.batch.jobs import Job, JobRecord
from services.batch.runner import run_job
from services.batch.scoring import ChunkScorer
from services.inference import Inference, create_inference
from services.settings import Settings
from tests.processes import ROOT

COHORT_SIZE = 40
MODELS = ["post-mi-mortality", "diabetes-progression"]
INDEX_TIME = "2018-01-01T00:00:00+00:00"


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-patient WHAS500 cohort as Bulk Data NDJSON (from the cohort builder)."""
    out = tmp_path_factory.mktemp("cohort") / "whas500"
    command = [sys.executable, "-m", "services.cli", "cohort", "build", "whas500"]
    command += ["--out", str(out), "--format", "ndjson", "--n", str(COHORT_SIZE)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return out


@pytest.fixture
def cohort_copy(cohort: Path, tmp_path: Path) -> Path:
    """A copy of the cohort a test may change."""
    return Path(shutil.copytree(cohort, tmp_path / "cohort"))


@pytest.fixture(scope="session")
def shipped_inference() -> Iterator[Inference]:
    inference = create_inference(Settings())
    yield inference
    inference.close()


class InlineBackend:
    """Scores each chunk as it is submitted, in the test process (the task code itself)."""

    capacity = 1

    def __init__(self, scorer: ChunkScorer) -> None:
        self.scorer = scorer
        self.running: dict[int, dict] = {}
        self.scored: list[int] = []

    def submit(self, chunk: int, payload: dict) -> None:
        self.running[chunk] = self.scorer.score(payload)
        self.scored.append(chunk)

    def completed(self) -> list[tuple[int, dict]]:
        out = list(self.running.items())
        self.running.clear()
        return out

    def close(self) -> None:
        pass


@pytest.fixture
def inline(shipped_inference: Inference) -> InlineBackend:
    return InlineBackend(ChunkScorer(shipped_inference, Settings()))


def new_job(tmp_path: Path, source: Path, chunk_size: int = 8) -> tuple[Job, JobRecord]:
    return Job.create(
        tmp_path / "jobs",
        input=str(source),
        out=str(tmp_path / "out"),
        models=MODELS,
        index_time=INDEX_TIME,
        chunk_size=chunk_size,
        memory_budget=64 * 1024 * 1024,
    )


def run_inline(job: Job, record: JobRecord, backend: InlineBackend) -> dict:
    return run_job(job, record, backend, lambda _done, _total: None)


def read_ndjson(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def patient_ids(cohort: Path) -> set[str]:
    return {r["id"] for r in read_ndjson(cohort / "Patient.ndjson")}


def assessed(out: Path) -> list[tuple[str, str]]:
    """(patient id, model) of every RiskAssessment written."""
    return [
        (ra["subject"]["reference"].removeprefix("Patient/"), ra["method"]["coding"][0]["code"])
        for ra in read_ndjson(out / "RiskAssessment.ndjson")
    ]
