"""A job end to end with the task code run inline: outputs, bad input, resume."""

from __future__ import annotations

import csv
import socket
import subprocess
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from adapters.ndjson import iter_records
from services.batch.jobs import Job, job_status
from services.batch.scoring import ChunkScorer, chunk_payload
from services.inference import BackendUnavailable
from services.settings import Settings
from tests.services.batch.conftest import (
    COHORT_SIZE,
    INDEX_TIME,
    MODELS,
    InlineBackend,
    assessed,
    new_job,
    patient_ids,
    read_ndjson,
    run_inline,
)


def test_one_risk_assessment_per_patient_per_model(
    cohort: Path, tmp_path: Path, inline: InlineBackend
) -> None:
    job, record = new_job(tmp_path, cohort)
    report = run_inline(job, record, inline)
    out = tmp_path / "out"

    pairs = assessed(out)
    assert sorted(pairs) == sorted((p, m) for p in patient_ids(cohort) for m in MODELS)
    ra = read_ndjson(out / "RiskAssessment.ndjson")[0]
    assert ra["occurrenceDateTime"] == record.index_time
    assert ra["method"]["coding"][0]["version"] == "1"
    post_mi = [
        r
        for r in read_ndjson(out / "RiskAssessment.ndjson")
        if r["method"]["coding"][0]["code"] == "post-mi-mortality"
    ]
    assert all(0 <= r["prediction"][0]["probabilityDecimal"] <= 1 for r in post_mi)
    assert any(
        ref["reference"].startswith("Observation/") for r in post_mi for ref in r.get("basis", [])
    )

    with (out / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["patient"], r["model"]) for r in rows] == pairs
    assert pq.read_table(out / "summary.parquet").to_pylist() == [
        {**r, "version": int(r["version"]), "score": float(r["score"])} for r in rows
    ]
    assert {r["band"] for r in rows} <= {"low", "moderate", "high"}
    assert all(r["top_factors"] for r in rows)

    assert report["patients"] == COHORT_SIZE
    assert report["errors"] == 0
    for model in MODELS:
        assert report["models"][model]["scored"] == COHORT_SIZE
        assert sum(report["models"][model]["bands"].values()) == COHORT_SIZE
    status = job_status(job)
    assert status["state"] == "done"
    assert (status["done"], status["total"], status["errors"]) == (COHORT_SIZE, COHORT_SIZE, 0)
    assert status["summary"] == "summary.csv"
    assert status["finished"] is not None


def test_malformed_lines_go_to_errors_and_the_rest_is_scored(
    cohort_copy: Path, tmp_path: Path, inline: InlineBackend
) -> None:
    observations = cohort_copy / "Observation.ndjson"
    lines = observations.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"resourceType": "Observation", "subject": \n'  # truncated JSON
    lines[5] = b'["not", "a", "resource"]\n'
    observations.write_bytes(b"".join(lines))

    job, record = new_job(tmp_path, cohort_copy)
    report = run_inline(job, record, inline)
    out = tmp_path / "out"

    errors = read_ndjson(out / "errors.ndjson")
    assert [(e["file"], e["line"]) for e in errors] == [
        ("Observation.ndjson", 3),
        ("Observation.ndjson", 6),
    ]
    assert all(e["reason"] for e in errors)
    assert len(set(assessed(out))) == len(assessed(out)) == COHORT_SIZE * len(MODELS)
    assert report["errors"] == 2


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_a_poisoned_record_is_an_error_and_the_job_goes_on(
    cohort_copy: Path, tmp_path: Path, inline: InlineBackend
) -> None:
    """A heart rate beyond float32, taken the day before the index time, makes the model
    refuse the row (a non-finite feature)."""
    observations = cohort_copy / "Observation.ndjson"
    rows = read_ndjson(observations)
    poisoned = next(r for r in rows if r["code"]["coding"][0]["code"] == "8867-4")
    poisoned["valueQuantity"]["value"] = 1e300
    poisoned["effectiveDateTime"] = "2017-12-31T12:00:00+00:00"
    observations.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    patient = poisoned["subject"]["reference"].removeprefix("Patient/")

    job, record = new_job(tmp_path, cohort_copy)
    run_inline(job, record, inline)
    out = tmp_path / "out"

    errors = read_ndjson(out / "errors.ndjson")
    assert [(e["patient"], e["model"]) for e in errors] == [(patient, "post-mi-mortality")]
    assert "InvalidInput" in errors[0]["reason"]
    pairs = assessed(out)
    assert (patient, "post-mi-mortality") not in pairs
    assert len(pairs) == COHORT_SIZE * len(MODELS) - 1


def test_resume_scores_only_the_missing_chunks(
    cohort: Path, tmp_path: Path, inline: InlineBackend
) -> None:
    job, record = new_job(tmp_path, cohort, chunk_size=8)
    run_inline(job, record, inline)
    out = tmp_path / "out"
    first = (out / "RiskAssessment.ndjson").read_bytes()

    # As if the job had stopped before chunks 1 and 3 were stored and the outputs written.
    job.chunk_path(1).unlink()
    job.chunk_path(3).unlink()
    for path in out.iterdir():
        path.unlink()
    record = job.load()
    record.state = "running"
    record.coordinator = f"{socket.gethostname()}:{_exited_pid()}"
    job.save(record)
    assert job_status(job)["state"] == "interrupted"  # its coordinator is gone

    again = InlineBackend(inline.scorer)
    report = run_inline(Job(job.dir.parent, job.id), job.load(), again)
    assert again.scored == [1, 3]
    assert (out / "RiskAssessment.ndjson").read_bytes() == first
    assert report["patients"] == COHORT_SIZE


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class _Unavailable:
    """The shipped models behind a model server that is down."""

    def __init__(self, inference: object) -> None:
        self.inference = inference

    def __getattr__(self, name: str) -> object:
        return getattr(self.inference, name)

    def predict(self, *_args: object, **_kwargs: object) -> None:
        raise BackendUnavailable("model server down")


def test_a_backend_outage_is_retried_not_written_off_as_bad_records(
    cohort: Path, inline: InlineBackend
) -> None:
    """Transient errors leave the chunk (for the task to retry), never errors.ndjson."""
    scorer = ChunkScorer(_Unavailable(inline.scorer.assessor.inference), Settings())
    records = list(iter_records(cohort))[:3]
    with pytest.raises(BackendUnavailable):
        scorer.score(chunk_payload(0, MODELS, INDEX_TIME, records))
