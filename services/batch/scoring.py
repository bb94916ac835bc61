"""The batch task: one chunk of patients scored with every model of its job.

A chunk travels as plain JSON-able data (the task message, or a process pool's
argument) and its result comes back the same way; the coordinator stores it.
A record that breaks a model call is retried alone, and one that still fails
becomes an error entry with its reason, so a poisoned record never costs its
chunk. Transient backend errors (the model server down or slow) propagate, for
the caller to retry the chunk later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime

import orjson

from adapters.fhirtime import parse_datetime
from adapters.records import PatientRecord
from services import metrics
from services.inference import BackendUnavailable, Inference, ModelNotFound
from services.recommend import Assessment, Assessor
from services.recommend.fhir import risk_assessment
from services.settings import Settings

# Errors worth trying the chunk again for (CircuitOpen and DeadlineExceeded are kinds of it).
TRANSIENT: tuple[type[Exception], ...] = (BackendUnavailable,)


def chunk_payload(
    chunk: int, models: Sequence[str], index_time: str, records: Sequence[PatientRecord]
) -> dict:
    """The task argument for ``records``; resources referenced from outside the records
    (Medication, ...) travel with the chunk."""
    references: dict[str, dict] = {}
    for record in records:
        references.update(record.references)
    return {
        "chunk": chunk,
        "models": list(models),
        "index_time": index_time,
        "records": [
            {"key": r.key, "patient": r.patient, "resources": r.resources} for r in records
        ],
        "references": references,
    }


def _records(payload: Mapping) -> list[PatientRecord]:
    refs = payload["references"]
    return [
        PatientRecord(key=r["key"], patient=r["patient"], resources=r["resources"], references=refs)
        for r in payload["records"]
    ]


def summary_row(assessment: Assessment) -> dict:
    """One line of the summary table."""
    return {
        "patient": assessment.patient_id,
        "model": assessment.model,
        "version": assessment.version,
        "score": assessment.score,
        "band": assessment.band.name,
        "top_factors": "; ".join(f.feature for f in assessment.factors),
    }


class ChunkScorer:
    """Scores chunks with the models one process has loaded."""

    def __init__(self, inference: Inference, settings: Settings) -> None:
        self.assessor = Assessor(inference, settings)

    def score(self, payload: Mapping) -> dict:
        """The chunk's RiskAssessments (as NDJSON text), summary rows and errors (one per
        patient and model that could not be scored)."""
        started = time.perf_counter()
        records = _records(payload)
        at = parse_datetime(payload["index_time"])
        lines: list[bytes] = []
        result: dict = {
            "chunk": payload["chunk"],
            "patients": len(records),
            "rows": [],
            "errors": [],
        }
        for model in payload["models"]:
            assessments, errors = self._assess(model, records, at)
            lines += [orjson.dumps(risk_assessment(a, at)) for a in assessments]
            result["rows"] += [summary_row(a) for a in assessments]
            result["errors"] += errors
            metrics.BATCH_PATIENTS.labels(model).inc(len(assessments))
        # Already NDJSON: the coordinator stores and merges it without parsing it again.
        result["risk_assessments"] = b"".join(line + b"\n" for line in lines).decode()
        metrics.BATCH_CHUNK_LATENCY.observe(time.perf_counter() - started)
        return result

    def _assess(
        self, model: str, records: list[PatientRecord], at: datetime
    ) -> tuple[list[Assessment], list[dict]]:
        try:
            return self.assessor.assess(model, records, at, errors="collect"), []
        except (ModelNotFound, *TRANSIENT):
            raise
        except Exception:  # the records are tried one by one below
            pass
        assessments: list[Assessment] = []
        errors: list[dict] = []
        for record in records:  # find the records that break the batch
            try:
                assessments += self.assessor.assess(model, [record], at, errors="collect")
            except (ModelNotFound, *TRANSIENT):
                raise
            except Exception as exc:
                reason = type(exc).__name__
                metrics.BATCH_ERRORS.labels(reason).inc()
                errors.append({"patient": record.key, "model": model, "reason": f"{reason}: {exc}"})
        return assessments, errors


_process_scorer: ChunkScorer | None = None


def load_process_scorer() -> None:
    """Load the configured models into this process (a worker child, after the fork)."""
    global _process_scorer
    from services.inference import create_inference
    from services.settings import get_settings

    settings = get_settings()
    _process_scorer = ChunkScorer(create_inference(settings), settings)


def score_in_process(payload: Mapping) -> dict:
    """Score a chunk with this process's models (loaded by :func:`load_process_scorer`)."""
    if _process_scorer is None:
        load_process_scorer()
    assert _process_scorer is not None
    return _process_scorer.score(payload)
