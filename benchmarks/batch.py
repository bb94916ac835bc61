"""Batch scoring throughput: in-process, one worker, two workers, and the parse ceiling.

    python benchmarks/batch.py [--patients 50000] [--cohort DIR] [--models a,b]

Builds (or reuses, with --cohort) a WHAS500 cohort of N patients as Bulk Data
NDJSON with the cohort builder, then in one run measures patients/s for:

  (a) orjson parsing alone of every line of the cohort's files (the ceiling);
  (b) `cds score` in-process (no broker; a process pool over the cores);
  (c) `cds score` through Redis with one `cds worker --concurrency 1`;
  (d) the same with two such workers.

Targets: d/c >= 1.7 and b/a >= 0.4. Rates are patients / wall time of the
`cds score` run, read from its report: (b) includes loading the models in its
pool processes, (c) and (d) start their workers (models loaded) beforehand.
Needs Redis on 127.0.0.1:6379 (database 12, flushed before each Celery run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.ndjson import ndjson_files
from tests.processes import ROOT, cli_env
from tests.services.batch.workers import QUEUE, start_worker

BROKER = "redis://127.0.0.1:6379/12"  # apart from the tests' database


def parse_ceiling(cohort: Path, patients: int) -> float:
    """Patients/s when every line of the input is only parsed with orjson."""
    start = time.perf_counter()
    for path in ndjson_files(cohort):
        with path.open("rb") as fh:
            for line in fh:
                orjson.loads(line)
    return patients / (time.perf_counter() - start)


def score(cohort: Path, work: Path, name: str, models: str | None, broker: str | None) -> dict:
    """Run `cds score` and return its report."""
    env = cli_env({"CDS_JOBS_DIR": str(work / "jobs")})
    env.pop("CDS_BROKER_URL", None)
    if broker:
        env |= {"CDS_BROKER_URL": broker, "CDS_BATCH_QUEUE": QUEUE}  # the workers' queue
    command = [sys.executable, "-m", "services.cli", "score", str(cohort)]
    command += ["--out", str(work / name), "--no-progress"]
    if models:
        command += ["--models", models]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-3000:])
    return orjson.loads(done.stdout)


def with_workers(count: int, cohort: Path, work: Path, models: str | None) -> dict:
    redis.Redis.from_url(BROKER).flushdb()
    workers = [
        start_worker({"CDS_BROKER_URL": BROKER}, work / "logs", concurrency=1) for _ in range(count)
    ]
    try:
        return score(cohort, work, f"workers-{count}", models, BROKER)
    finally:
        for worker in workers:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--cohort", type=Path, default=None, help="Reuse (or build) here.")
    parser.add_argument("--models", default=None, help="Default: every served model.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cds-batch-bench-") as tmp:
        work = Path(tmp)
        cohort = args.cohort or work / "cohort"
        if not (cohort / "Patient.ndjson").is_file():
            command = [sys.executable, "-m", "services.cli", "cohort", "build", "whas500"]
            command += ["--out", str(cohort), "--format", "ndjson", "--n", str(args.patients)]
            subprocess.run(command, cwd=ROOT, check=True)
        size = sum(p.stat().st_size for p in ndjson_files(cohort)) / 1e6
        print(f"cohort: {args.patients} patients, {size:.0f} MB of NDJSON, cores: {os.cpu_count()}")

        ceiling = parse_ceiling(cohort, args.patients)
        print(f"(a) orjson parse-only ceiling   {ceiling:10.0f} patients/s")
        rates = {}
        for label, run in (
            ("(b) in-process (pool)", lambda: score(cohort, work, "embedded", args.models, None)),
            ("(c) 1 worker", lambda: with_workers(1, cohort, work, args.models)),
            ("(d) 2 workers", lambda: with_workers(2, cohort, work, args.models)),
        ):
            report = run()
            assert report["patients"] == args.patients, report
            rates[label] = report["patients_per_s"]
            print(f"{label:<31} {rates[label]:10.0f} patients/s  ({report['seconds']:.0f} s)")
        values = list(rates.values())
        print(f"2 workers / 1 worker: {values[2] / values[1]:.2f}x (target >= 1.7)")
        print(f"in-process / parse ceiling: {values[0] / ceiling:.1%} (target >= 40%)")


if __name__ == "__main__":
    main()
