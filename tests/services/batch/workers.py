"""Start ``cds worker`` as a child process against the real Redis, for tests."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests import processes
from tests.processes import ROOT
from tests.services.cds_hooks.server import free_port

BROKER = "redis://127.0.0.1:6379/11"
# A queue of this run's own: other runs sharing the Redis must not take its chunks.
QUEUE = f"cds-test-{uuid.uuid4().hex[:12]}"
BATCH_ENV = {"CDS_BROKER_URL": BROKER, "CDS_BATCH_QUEUE": QUEUE}


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    metrics_port: int
    log: Path

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def metric(self, name: str, labels: str = "") -> float:
        """The value of one sample (0 when absent)."""
        pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+]+)"
        found = re.search(pattern, self.metrics())
        return float(found.group(1)) if found else 0.0

    def children(self) -> list[int]:
        """Pids of the pool processes scoring chunks."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        processes.stop(self.process)


def start_worker(env: dict[str, str], log_dir: Path, concurrency: int = 2) -> WorkerProcess:
    """Start a worker and wait until every pool process has loaded the models."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"worker-{time.monotonic_ns()}.log"
    port = free_port()
    full_env = processes.cli_env({**BATCH_ENV, "CDS_WORKER_METRICS_PORT": str(port), **env})
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "services.cli", "worker", "--concurrency", str(concurrency)]
    with log.open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=err, stderr=err)
    worker = WorkerProcess(process, port, log)
    give_up = time.monotonic() + 300
    while time.monotonic() < give_up and process.poll() is None:
        try:
            if worker.metric("cds_batch_model_load_seconds_count") >= concurrency:
                return worker
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    worker.stop()
    raise RuntimeError(f"cds worker did not start:\n{worker.logs()[-3000:]}")
