"""Batch scoring through Celery: real Redis, real `cds worker` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from services.batch.jobs import Job
from tests import processes
from tests.processes import ROOT
from tests.services.batch.conftest import COHORT_SIZE, INDEX_TIME, MODELS, assessed, patient_ids
from tests.services.batch.workers import BATCH_ENV, WorkerProcess, start_worker

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    # No flush: task ids name their job, so runs sharing the queue get their own results.
    started = start_worker({}, tmp_path_factory.mktemp("worker-logs"))
    yield started
    started.stop()


def score_command(cohort: Path, out: Path, chunk_size: int) -> list[str]:
    return [
        sys.executable, "-m", "services.cli", "score", str(cohort), "--out", str(out),
        "--models", ",".join(MODELS), "--chunk-size", str(chunk_size),
        "--index-time", INDEX_TIME, "--no-progress",
    ]  # fmt: skip


def score_env(jobs: Path, celery: bool) -> dict[str, str]:
    """`cds score`'s environment: through this run's workers, or in-process."""
    env = processes.cli_env({"CDS_JOBS_DIR": str(jobs)})
    env.pop("CDS_BROKER_URL", None)
    return env | BATCH_ENV if celery else env


def test_celery_result_equals_in_process_result(
    cohort: Path, tmp_path: Path, worker: WorkerProcess
) -> None:
    chunks_before = worker.metric("cds_batch_tasks_total", 'outcome="success"')
    for mode, celery in (("celery", True), ("embedded", False)):
        command = score_command(cohort, tmp_path / mode, chunk_size=4)
        if not celery:
            command += ["--concurrency", "1"]
        done = subprocess.run(
            command, cwd=ROOT, env=score_env(tmp_path / "jobs", celery), capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        assert orjson.loads(done.stdout)["patients"] == COHORT_SIZE

    celery_out = (tmp_path / "celery" / "RiskAssessment.ndjson").read_bytes()
    assert celery_out == (tmp_path / "embedded" / "RiskAssessment.ndjson").read_bytes()
    assert sorted(assessed(tmp_path / "celery")) == sorted(
        (p, m) for p in patient_ids(cohort) for m in MODELS
    )
    # The worker's endpoint counts the chunks and patients it scored, over its processes.
    assert worker.metric("cds_batch_tasks_total", 'outcome="success"') - chunks_before >= 10
    for model in MODELS:
        assert worker.metric("cds_batch_patients_scored_total", f'model="{model}"') >= COHORT_SIZE
    assert worker.metric("cds_batch_chunk_duration_seconds_count") >= 10
    # Celery logs tasks, never what they carry.
    logs = worker.logs()
    assert not [p for p in patient_ids(cohort) if p in logs]


def test_a_worker_killed_mid_job_loses_nothing_and_doubles_nothing(
    cohort: Path, tmp_path: Path, worker: WorkerProcess
) -> None:
    jobs = tmp_path / "jobs"
    out = tmp_path / "out"
    score = subprocess.Popen(
        score_command(cohort, out, chunk_size=1),
        cwd=ROOT,
        env=score_env(jobs, celery=True),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        job = _wait_for_progress(jobs, score)
        killed = worker.children()
        for pid in killed:  # both pool processes, each in the middle of a chunk
            os.kill(pid, signal.SIGKILL)
        stdout, stderr = score.communicate(timeout=300)
    finally:
        if score.poll() is None:
            score.kill()
    assert score.returncode == 0, stderr.decode()[-3000:]
    assert job.load().state == "done"
    assert set(worker.children()).isdisjoint(killed)  # the worker replaced them

    pairs = assessed(out)
    assert len(pairs) == len(set(pairs)) == COHORT_SIZE * len(MODELS)
    assert set(pairs) == {(p, m) for p in patient_ids(cohort) for m in MODELS}
    assert orjson.loads(stdout)["patients"] == COHORT_SIZE


def _wait_for_progress(jobs: Path, score: subprocess.Popen[bytes]) -> Job:
    """The job once a few chunks are stored, well before its end."""
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up and score.poll() is None:
        found = list(jobs.glob("*/job.json"))
        if found:
            job = Job(jobs, found[0].parent.name)
            if job.load().done >= 2:
                assert job.load().done < COHORT_SIZE
                return job
        time.sleep(0.02)
    raise AssertionError(f"no progress: {score.stderr.read().decode() if score.stderr else ''}")


def test_a_killed_cli_is_resumed_to_exactly_one_result_per_patient_per_model(
    cohort: Path, tmp_path: Path, worker: WorkerProcess
) -> None:
    jobs = tmp_path / "jobs"
    out = tmp_path / "out"
    env = score_env(jobs, celery=True)
    score = subprocess.Popen(
        score_command(cohort, out, chunk_size=1),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        job = _wait_for_progress(jobs, score)
    finally:
        score.kill()
        score.communicate()
    status = subprocess.run(
        [sys.executable, "-m", "services.cli", "jobs", "status", job.id],
        cwd=ROOT, env=env, capture_output=True, check=True,
    )  # fmt: skip
    before = orjson.loads(status.stdout)
    assert before["state"] == "interrupted"
    assert 0 < before["done"] < COHORT_SIZE
    assert not out.joinpath("RiskAssessment.ndjson").exists()

    resumed = subprocess.run(
        [sys.executable, "-m", "services.cli", "score", "--resume", job.id, "--no-progress"],
        cwd=ROOT, env=env, capture_output=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    pairs = assessed(out)
    assert len(pairs) == len(set(pairs)) == COHORT_SIZE * len(MODELS)
    assert job.load().state == "done"
