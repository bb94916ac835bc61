"""Run a batch job: stream the input by patient, fan chunks out, store what comes back.

The coordinator (``cds score``) reads the NDJSON grouped by patient in bounded
memory (:func:`adapters.ndjson.iter_records`), cuts it into chunks of
``chunk_size`` patients and hands them to a backend: Celery workers when a
broker is set, else a process pool over the cores running the same task code.
Chunk numbers depend only on the input, so a resumed job re-reads the input,
skips the chunks already stored and sends the rest. When the input has been
read the manifest lists every chunk; the merge is built from it.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import orjson

from adapters.ndjson import LineError, file_resource_type, iter_records, ndjson_files
from adapters.records import PatientRecord
from services.batch.jobs import Job, JobRecord, now_iso
from services.batch.merge import MergeError, merge
from services.batch.scoring import TRANSIENT, chunk_payload, load_process_scorer, score_in_process

Progress = Callable[[int, int], None]  # (patients just done, total so far)
POLL_S = 0.2


class ChunkFailed(RuntimeError):
    """A chunk failed for good (not a transient error): the job cannot finish."""


class Backend(Protocol):
    """Where chunks are scored."""

    capacity: int  # chunks in flight at most (bounds the coordinator's and broker's memory)
    running: dict  # the chunks in flight

    def submit(self, chunk: int, payload: dict) -> None: ...

    def completed(self) -> list[tuple[int, dict]]:
        """Results of chunks finished since the last call (waits up to a moment)."""
        ...

    def close(self) -> None: ...


class PoolBackend:
    """A process pool over the cores; each process loads the models once, at its start."""

    def __init__(self, processes: int) -> None:
        self.capacity = 2 * processes
        self.pool = cf.ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a loaded TensorFlow
            initializer=load_process_scorer,
        )
        self.running: dict[cf.Future, tuple[int, dict, int]] = {}

    def submit(self, chunk: int, payload: dict, attempt: int = 0) -> None:
        future = self.pool.submit(score_in_process, payload)
        self.running[future] = (chunk, payload, attempt)

    def completed(self) -> list[tuple[int, dict]]:
        done, _ = cf.wait(self.running, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
        out = []
        for future in done:
            chunk, payload, attempt = self.running.pop(future)
            try:
                out.append((chunk, future.result()))
            except TRANSIENT as exc:
                if attempt >= 5:
                    raise ChunkFailed(f"chunk {chunk}: {type(exc).__name__}") from exc
                time.sleep(min(2**attempt, 30))
                self.submit(chunk, payload, attempt + 1)
            except Exception as exc:
                raise ChunkFailed(f"chunk {chunk}: {type(exc).__name__}: {exc}") from exc
        return out

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class CeleryBackend:
    """Chunks as Celery tasks; task ids name the job and chunk."""

    def __init__(self, job_id: str, capacity: int = 16) -> None:
        from services.batch.celery_app import TASK_NAME, app

        self.app, self.task_name = app, TASK_NAME
        self.job_id = job_id
        self.capacity = capacity
        self.running: dict[int, tuple[object, dict]] = {}

    def submit(self, chunk: int, payload: dict) -> None:
        result = self.app.send_task(
            self.task_name,
            args=(payload,),
            task_id=f"{self.job_id}-{chunk:06d}",
            argsrepr=f"(chunk {chunk})",  # what monitoring shows: never the patients
        )
        self.running[chunk] = (result, payload)

    def completed(self) -> list[tuple[int, dict]]:
        from celery.exceptions import WorkerLostError

        out = []
        for chunk, (result, payload) in list(self.running.items()):
            state = result.state
            if state == "SUCCESS":
                out.append((chunk, result.get()))
                result.forget()
                del self.running[chunk]
            elif state == "FAILURE":
                exc = result.result
                del self.running[chunk]
                result.forget()
                if isinstance(exc, WorkerLostError):  # the worker died: the chunk runs again
                    self.submit(chunk, payload)
                    continue
                raise ChunkFailed(f"chunk {chunk}: {type(exc).__name__}: {exc}")
        if not out:
            time.sleep(POLL_S)
        return out

    def close(self) -> None:
        """Tasks left in the broker stay there: a resumed job picks up their results."""


def estimate_patients(source: str | Path) -> int:
    """Patients in a Bulk Data export, counted as lines of its Patient files."""
    count = 0
    for path in ndjson_files(source):
        if file_resource_type(path) == "Patient":
            with path.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    count += block.count(b"\n")
    return count


def _chunks(records: Iterator[PatientRecord], size: int) -> Iterator[list[PatientRecord]]:
    while batch := list(itertools.islice(records, size)):
        yield batch


def run_job(job: Job, record: JobRecord, backend: Backend, progress: Progress) -> dict:
    """Score every chunk not stored yet, then merge; returns the job report.

    Raises :class:`ChunkFailed` or :class:`MergeError` (the job is marked failed);
    anything else, KeyboardInterrupt included, marks it interrupted (resumable).
    """
    started = time.perf_counter()
    job.mark_running(record)
    record.total = max(record.total, estimate_patients(record.input))
    record.done = record.errors = 0
    chunks: dict[int, int] = {}

    def store(results: list[tuple[int, dict]]) -> None:
        for chunk, result in results:
            job.save_chunk(chunk, result)
            _count(record, result)
            progress(result["patients"], record.total)
        if results:
            job.save(record)

    try:
        with job.input_errors_path.open("wb") as input_errors:

            def line_error(err: LineError) -> None:
                input_errors.write(orjson.dumps(err.to_dict()) + b"\n")
                record.errors += 1

            records = iter_records(
                record.input, memory_budget=record.memory_budget, on_error=line_error
            )
            for n, batch in enumerate(_chunks(records, record.chunk_size)):
                chunks[n] = len(batch)
                if job.chunk_done(n):  # stored by an earlier run of this job
                    result = job.load_chunk(n)
                    _count(record, result)
                    progress(result["patients"], record.total)
                    continue
                while len(backend.running) >= backend.capacity:
                    store(backend.completed())
                backend.submit(n, chunk_payload(n, record.models, record.index_time, batch))
        job.save_manifest(chunks)
        record.total = sum(chunks.values())
        job.save(record)
        while backend.running:
            store(backend.completed())
        report = merge(job, record, chunks, time.perf_counter() - started)
    except (ChunkFailed, MergeError):
        record.state = "failed"
        raise
    except BaseException:
        record.state = "interrupted"
        raise
    else:
        record.state = "done"
        record.patients_per_s = report["patients_per_s"]
        return report
    finally:
        record.finished = now_iso() if record.state in ("done", "failed") else None
        record.seconds = round(time.perf_counter() - started, 3)
        job.save(record)
        backend.close()


def _count(record: JobRecord, result: dict) -> None:
    record.done += result["patients"]
    record.errors += len(result["errors"])
