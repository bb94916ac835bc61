"""The job's outputs, built from the chunk manifest.

``RiskAssessment.ndjson`` (one per patient per model), ``summary.csv`` and
``summary.parquet`` (patient, model, version, score, band, top factors),
``errors.ndjson`` (input lines that could not be read, then patients a model
could not score, each with its reason) and ``report.json`` (counts per model
and band, time, patients/s). Chunks are read one at a time, in manifest order;
every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from services.batch.jobs import SUMMARY_FILE, Job, JobRecord, write_atomic

RISK_ASSESSMENTS = "RiskAssessment.ndjson"
ERRORS = "errors.ndjson"
REPORT = "report.json"
SUMMARY_PARQUET = "summary.parquet"
SUMMARY_SCHEMA = pa.schema(
    [
        ("patient", pa.string()),
        ("model", pa.string()),
        ("version", pa.int32()),
        ("score", pa.float64()),
        ("band", pa.string()),
        ("top_factors", pa.string()),
    ]
)


class MergeError(RuntimeError):
    """The stored chunks disagree with the manifest: the outputs would be wrong."""


def merge(job: Job, record: JobRecord, chunks: dict[int, int], seconds: float) -> dict:
    """Write the outputs to the job's ``out`` folder; returns the report."""
    out = Path(record.out)
    out.mkdir(parents=True, exist_ok=True)
    names = (RISK_ASSESSMENTS, ERRORS, SUMMARY_FILE, SUMMARY_PARQUET)
    tmp = {name: out / f".{name}.tmp" for name in names}
    seen: set[tuple[str, str]] = set()
    bands: Counter[tuple[str, str]] = Counter()
    errors = 0
    with ExitStack() as stack:
        assessments = stack.enter_context(tmp[RISK_ASSESSMENTS].open("wb"))
        error_file = stack.enter_context(tmp[ERRORS].open("wb"))
        csv = stack.enter_context(pa_csv.CSVWriter(tmp[SUMMARY_FILE], SUMMARY_SCHEMA))
        parquet = stack.enter_context(pq.ParquetWriter(tmp[SUMMARY_PARQUET], SUMMARY_SCHEMA))
        input_errors = job.input_errors_path.read_bytes()  # a line per unreadable input line
        error_file.write(input_errors)
        errors += input_errors.count(b"\n")
        for chunk in sorted(chunks):
            if not job.chunk_done(chunk):
                raise MergeError(f"chunk {chunk} has no stored result")
            result = job.load_chunk(chunk)
            if result["patients"] != chunks[chunk]:
                raise MergeError(
                    f"chunk {chunk} holds {result['patients']} patients, not {chunks[chunk]}"
                )
            for row in result["rows"]:
                key = (row["patient"], row["model"])
                if key in seen:
                    raise MergeError(f"chunk {chunk} repeats a patient already scored")
                seen.add(key)
                bands[row["model"], row["band"]] += 1
            assessments.write(result["risk_assessments"].encode())
            error_file.writelines(orjson.dumps(e) + b"\n" for e in result["errors"])
            errors += len(result["errors"])
            table = pa.Table.from_pylist(result["rows"], schema=SUMMARY_SCHEMA)
            csv.write_table(table)
            parquet.write_table(table)
    for name in names:
        tmp[name].replace(out / name)
    patients = sum(chunks.values())
    report = {
        "job": record.id,
        "patients": patients,
        "errors": errors,
        "models": {
            model: {
                "scored": sum(n for (m, _), n in bands.items() if m == model),
                "bands": {b: n for (m, b), n in sorted(bands.items()) if m == model},
            }
            for model in record.models
        },
        "seconds": round(seconds, 3),
        "patients_per_s": round(patients / seconds, 1) if seconds > 0 else None,
    }
    write_atomic(out / REPORT, orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report
