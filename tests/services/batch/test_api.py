"""GET /jobs: job status for the HTTP service, no patient data, summary in development only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.batch import api
from services.batch.jobs import Job
from services.cds_hooks import create_app
from services.settings import Settings
from tests.services.batch.conftest import COHORT_SIZE, InlineBackend, new_job, run_inline
from tests.services.cds_hooks.fakes import FakeInference


class _Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def client_for(jobs_dir: Path, *, dev: bool) -> TestClient:
    app = FastAPI()
    app.state.runtime = _Runtime(Settings(jobs_dir=jobs_dir, dev_disable_auth=dev))
    app.include_router(api.router)
    return TestClient(app)


@pytest.fixture(scope="module")
def finished_job(
    cohort: Path, tmp_path_factory: pytest.TempPathFactory, shipped_inference: object
) -> Job:
    from services.batch.scoring import ChunkScorer

    tmp = tmp_path_factory.mktemp("api")
    job, record = new_job(tmp, cohort)
    run_inline(job, record, InlineBackend(ChunkScorer(shipped_inference, Settings())))
    return job


def test_jobs_lists_and_shows_a_job_without_patient_data(finished_job: Job, cohort: Path) -> None:
    client = client_for(finished_job.dir.parent, dev=False)
    listed = client.get("/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [finished_job.id]
    one = client.get(f"/jobs/{finished_job.id}")
    assert one.status_code == 200
    body = one.json()
    assert body == listed[0]
    assert set(body) == {
        "id", "state", "total", "done", "errors", "models", "created", "finished",
        "patients_per_s", "summary",
    }  # fmt: skip
    assert (body["state"], body["done"], body["total"]) == ("done", COHORT_SIZE, COHORT_SIZE)
    assert body["summary"] == "summary.csv"
    patients = (cohort / "Patient.ndjson").read_text()
    assert not any(str(v) in patients for v in body.values() if isinstance(v, str) and len(v) > 8)


def test_unknown_job_is_404_with_an_operation_outcome(finished_job: Job) -> None:
    client = client_for(finished_job.dir.parent, dev=True)
    for path in ("/jobs/no-such-job", "/jobs/not%20an%20id"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_summary_is_served_in_development_only(finished_job: Job) -> None:
    path = f"/jobs/{finished_job.id}/summary.csv"
    refused = client_for(finished_job.dir.parent, dev=False).get(path)
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"

    served = client_for(finished_job.dir.parent, dev=True).get(path)
    assert served.status_code == 200
    summary = Path(finished_job.load().out) / "summary.csv"
    assert served.content == summary.read_bytes()


def test_the_cds_hooks_service_answers_jobs_with_its_settings(
    finished_job: Job, tmp_path: Path
) -> None:
    settings = Settings(
        jobs_dir=finished_job.dir.parent, database_url=f"sqlite:///{tmp_path / 'cds.db'}"
    )
    with TestClient(create_app(settings, inference=FakeInference())) as client:
        assert client.get(f"/jobs/{finished_job.id}").json()["id"] == finished_job.id
        assert client.get(f"/jobs/{finished_job.id}/summary.csv").status_code == 403
