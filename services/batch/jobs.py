"""A batch job's folder: its record, chunk manifest and chunk results.

Layout of ``CDS_JOBS_DIR/<job id>/``::

    job.json        the record: input, models, options, state, counts
    chunks/N.json   the result of chunk N (RiskAssessments, summary rows, errors)
    input-errors.ndjson  lines of the input that could not be read
    manifest.json   every chunk and its patient count, once the input is read

and the merged outputs go to the job's ``--out`` folder.

Every file is written to a temporary name and renamed, so a reader sees a
whole file or none, and a chunk scored twice (a worker killed after scoring,
a resumed job) is still stored once.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

State = Literal["queued", "running", "done", "failed", "interrupted"]
SUMMARY_FILE = "summary.csv"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class JobRecord:
    """What a job was asked to do and how far it got (no patient data)."""

    id: str
    input: str
    out: str
    models: list[str]
    index_time: str
    chunk_size: int
    memory_budget: int
    created: str = field(default_factory=now_iso)
    state: State = "queued"
    total: int = 0  # patients: an estimate (Patient lines) until the input is read
    done: int = 0  # patients in stored chunk results
    errors: int = 0  # entries for errors.ndjson so far
    patients_per_s: float | None = None
    finished: str | None = None
    seconds: float | None = None
    coordinator: str | None = None  # host:pid of the `cds score` running the job


class Job:
    """One job folder."""

    def __init__(self, root: Path, job_id: str) -> None:
        self.id = job_id
        self.dir = root / job_id
        self.chunks_dir = self.dir / "chunks"

    @classmethod
    def create(cls, root: Path, **fields: object) -> tuple[Job, JobRecord]:
        job_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        job = cls(root, job_id)
        record = JobRecord(id=job_id, **fields)  # type: ignore[arg-type]
        job.chunks_dir.mkdir(parents=True)
        job.save(record)
        return job, record

    def exists(self) -> bool:
        return (self.dir / "job.json").is_file()

    def load(self) -> JobRecord:
        return JobRecord(**orjson.loads((self.dir / "job.json").read_bytes()))

    def save(self, record: JobRecord) -> None:
        write_atomic(
            self.dir / "job.json", orjson.dumps(asdict(record), option=orjson.OPT_INDENT_2)
        )

    def mark_running(self, record: JobRecord) -> None:
        record.state = "running"
        record.coordinator = f"{socket.gethostname()}:{os.getpid()}"
        record.finished = None
        self.save(record)

    # -- chunk results ---------------------------------------------------------------
    def chunk_path(self, chunk: int) -> Path:
        return self.chunks_dir / f"{chunk:06d}.json"

    def chunk_done(self, chunk: int) -> bool:
        return self.chunk_path(chunk).is_file()

    def save_chunk(self, chunk: int, result: dict) -> None:
        write_atomic(self.chunk_path(chunk), orjson.dumps(result))

    def load_chunk(self, chunk: int) -> dict:
        return orjson.loads(self.chunk_path(chunk).read_bytes())

    def done_chunks(self) -> list[int]:
        return sorted(int(p.stem) for p in self.chunks_dir.glob("*.json"))

    # -- manifest ----------------------------------------------------------------
    def save_manifest(self, chunks: dict[int, int]) -> None:
        """Every chunk of the input with its patient count; written once the input is read."""
        body = {"chunks": [{"chunk": n, "patients": chunks[n]} for n in sorted(chunks)]}
        write_atomic(self.dir / "manifest.json", orjson.dumps(body))

    def manifest(self) -> dict[int, int] | None:
        path = self.dir / "manifest.json"
        if not path.is_file():
            return None
        return {c["chunk"]: c["patients"] for c in orjson.loads(path.read_bytes())["chunks"]}

    @property
    def input_errors_path(self) -> Path:
        return self.dir / "input-errors.ndjson"


def coordinator_alive(coordinator: str | None) -> bool:
    """Whether the `cds score` process that ran a job is still running (this host only;
    a job run from another host is taken to be alive)."""
    if not coordinator:
        return False
    host, _, pid = coordinator.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_status(job: Job) -> dict:
    """The JOB shape of ``GET /jobs/{id}`` and ``cds jobs status`` (no patient data).

    ``cds score`` stores each chunk result and updates the counts as it goes, so they
    are live; a job whose coordinator is gone reads as interrupted."""
    record = job.load()
    state = record.state
    if state == "running" and not coordinator_alive(record.coordinator):
        state = "interrupted"
    return {
        "id": record.id,
        "state": state,
        "total": max(record.total, record.done),
        "done": record.done,
        "errors": record.errors,
        "models": record.models,
        "created": record.created,
        "finished": record.finished,
        "patients_per_s": record.patients_per_s,
        "summary": SUMMARY_FILE if (Path(record.out) / SUMMARY_FILE).is_file() else None,
    }


def list_jobs(root: Path) -> list[Job]:
    """Every job under ``root``, newest first."""
    if not root.is_dir():
        return []
    jobs = [Job(root, p.name) for p in root.iterdir() if (p / "job.json").is_file()]
    return sorted(jobs, key=lambda j: j.load().created + j.id, reverse=True)
