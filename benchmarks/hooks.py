"""CDS Hooks service speed next to a bare FastAPI endpoint, in one run.

    python benchmarks/hooks.py [--seconds 10] [--model-dir DIR]

Sends the same patient-view request (a full prefetch: the Patient, 40
Observations, 10 Conditions) to two servers on loopback, one after the other,
at concurrency 1 and 32, and reports requests/s and p50/p99 latency:

- ``cds serve --dev``: the real service as a newcomer starts it (embedded
  models, SQLite audit, JSON logs at INFO); authentication is off, so the
  JWT check is not measured;
- a bare FastAPI app under uvicorn that parses the same body into the same
  request model and returns one fixed card.

The ratio cds/bare is the service's share of the bare endpoint's throughput.
Client and servers share this machine's CPUs. Models: ``--model-dir``, else the
shipped models if any is exported, else the inference tests' fixture models
built in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fastapi import FastAPI

from models.registry import PACKAGED_MODEL_DIR, model_names, versions
from services.cds_hooks.requests import HookRequest
from tests.fhir import ICD10CM, SNOMED, bp_panel, bundle, condition, observation
from tests.processes import ROOT
from tests.services.cds_hooks.conftest import days_ago, hook_request, patient_resource
from tests.services.cds_hooks.server import free_port, start_cds_serve

CONCURRENCY = (1, 32)
PREFERRED = "post-mi-mortality-patient-view"  # the request below is a post-MI patient
FIXED_CARD = {
    "cards": [
        {
            "uuid": "00000000-0000-4000-8000-000000000000",
            "summary": "Fixed card",
            "indicator": "info",
            "source": {"label": "bare endpoint"},
        }
    ]
}
JSON = {"Content-Type": "application/json"}
HEADINGS = ("p50 ms", "p99 ms", "no card", "cpu ms")
CONTENT_LENGTH = re.compile(rb"(?i)content-length: *(\d+)")
ROW = "{:<12} {:>3} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9}"

bare_app = FastAPI()


@bare_app.post("/cds-services/{service_id}")
async def bare(service_id: str, body: HookRequest) -> dict:
    """Parse the request into the service's own model; answer one fixed card."""
    return FIXED_CARD


def full_request() -> dict:
    """patient-view with the Patient, 40 Observations and 10 Conditions prefetched."""
    vitals = [("8867-4", "/min", 70), ("39156-5", "kg/m2", 27.0), ("8310-5", "Cel", 36.8)]
    labs = [("2345-7", "mg/dL", 95), ("2093-3", "mg/dL", 190), ("2085-9", "mg/dL", 50)]
    observations = []
    for i in range(34):
        code, unit, value = (vitals + labs)[i % 6]
        observations.append(observation(f"o{i}", code, value + i % 5, unit, days_ago(i / 3 + 0.1)))
    observations += [bp_panel(f"bp{i}", 120 + i, 80 - i, days_ago(i + 0.1)) for i in range(6)]
    conditions = [condition(f"c{i}", ICD10CM, f"E11.{i}") for i in range(8)]
    conditions += [
        condition("af", SNOMED, "49436004"),
        condition("chf", SNOMED, "42343007"),
    ]
    prefetch = {
        "patient": patient_resource("p1"),
        "observations": bundle(*observations, kind="searchset"),
        "conditions": bundle(*conditions, kind="searchset"),
    }
    request = hook_request(prefetch=prefetch)
    request["context"]["patientId"] = "p1"
    return request


def model_dir(given: Path | None, scratch: Path) -> Path:
    if given is not None:
        return given
    if any(versions(n, PACKAGED_MODEL_DIR) for n in model_names(PACKAGED_MODEL_DIR)):
        return PACKAGED_MODEL_DIR
    from tests.inference.fixtures import build_model_dir

    print("no exported models shipped: using the test fixture models")
    return build_model_dir(scratch / "models").root


async def load(url: str, body: bytes, concurrency: int, seconds: float) -> tuple[np.ndarray, int]:
    """Latencies of ``concurrency`` keep-alive connections posting ``body`` back to back
    for ``seconds``, and how many answers had no card (the service's fail-safe).

    A lean HTTP/1.1 client on asyncio streams, so the load generator takes as
    little of the shared CPUs as it can.
    """
    parsed = httpx.URL(url)
    request = (
        f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    empty = 0
    start = asyncio.Event()
    stop = 0.0

    async def connection() -> None:
        nonlocal empty
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)

        async def one() -> bytes:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            length = int(CONTENT_LENGTH.search(head).group(1))
            return await reader.readexactly(length)

        for _ in range(5):  # warm up
            await one()
        await start.wait()
        while time.perf_counter() < stop:
            began = time.perf_counter()
            answer = await one()
            latencies.append(time.perf_counter() - began)
            if answer.startswith(b'{"cards":[]'):
                empty += 1
        writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(concurrency)]
    await asyncio.sleep(0.5)
    stop = time.perf_counter() + seconds
    start.set()
    await asyncio.gather(*tasks)
    return np.array(latencies), empty


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, url: str, pid: int, body: bytes, concurrency: int, seconds: float) -> float:
    """Run one load and print its row; returns requests/s. ``cpu ms`` is the server
    process's CPU time per request (its warmup requests included)."""
    cpu = cpu_seconds(pid)
    latencies, empty = asyncio.run(load(url, body, concurrency, seconds))
    cpu_ms = (cpu_seconds(pid) - cpu) / len(latencies) * 1000
    rps = len(latencies) / seconds
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    cells = (f"{rps:.0f}", f"{p50:.1f}", f"{p99:.1f}", empty, f"{cpu_ms:.2f}")
    print(ROW.format(name, concurrency, len(latencies), *cells))
    return rps


def mean_batch(url: str) -> float:
    """Hook calls per model call, from the service's own metrics."""
    samples = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("cds_hook_scoring_batch_size_"):
            name, value = line.rsplit(" ", 1)
            kind = name.split("{")[0].removeprefix("cds_hook_scoring_batch_size_")
            samples[kind] = samples.get(kind, 0.0) + float(value)
    return samples["sum"] / samples["count"]


def start_bare(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "benchmarks.hooks:bare_app", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
    log = (log_dir / "bare.log").open("wb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/docs", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bare endpoint did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    body = orjson.dumps(full_request())
    print(f"request body: {len(body) / 1024:.1f} KiB, {os.cpu_count()} CPUs shared by all")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        models = model_dir(args.model_dir, scratch)
        env = {
            "CDS_MODEL_DIR": str(models),
            "CDS_DATABASE_URL": f"sqlite:///{scratch / 'cds.db'}",
            "CDS_PSEUDONYM_KEY": "benchmark",
        }
        server = start_cds_serve(env, scratch)
        bare_process, bare_url = start_bare(scratch)
        try:
            services = httpx.get(f"{server.url}/cds-services").json()["services"]
            views = [s["id"] for s in services if s["hook"] == "patient-view"]
            service = PREFERRED if PREFERRED in views else views[0]
            answer = httpx.post(
                f"{server.url}/cds-services/{service}", content=body, headers=JSON, timeout=30
            )
            answer.raise_for_status()
            print(f"service {service}: {answer.json()['cards'][0]['summary']}\n")
            print(ROW.format("endpoint", "c", "requests", "req/s", *HEADINGS))
            rates: dict[tuple[str, int], float] = {}
            for concurrency in CONCURRENCY:
                for name, url, pid in (
                    ("bare", f"{bare_url}/cds-services/{service}", bare_process.pid),
                    ("cds serve", f"{server.url}/cds-services/{service}", server.process.pid),
                ):
                    rates[name, concurrency] = measure(
                        name, url, pid, body, concurrency, args.seconds
                    )
            print(
                f"\nmean scoring batch (cds serve, whole run): {mean_batch(server.url):.1f} calls"
            )
            for concurrency in CONCURRENCY:
                ratio = rates["cds serve", concurrency] / rates["bare", concurrency]
                print(f"concurrency {concurrency}: cds serve at {100 * ratio:.0f}% of bare's req/s")
        finally:
            server.stop()
            bare_process.terminate()
            bare_process.wait(timeout=30)


if __name__ == "__main__":
    main()
