"""Start ``cds serve`` as a child process on loopback, for tests and benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests import processes


@dataclass
class CdsServeProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL if it does not stop in time."""
        processes.stop(self.process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cds_serve(
    env: dict[str, str],
    log_dir: Path,
    *,
    dev: bool = True,
    grpc_port: int = 0,
    timeout: float = 180.0,
) -> CdsServeProcess:
    """Start ``cds serve`` on a free port with the ``CDS_*`` settings in ``env`` and wait
    until it answers ``/healthz`` (after the app's start-up). Its JSON logs go to a file
    in ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"cds-serve-{time.monotonic_ns()}.log"
    port = free_port()
    command = [sys.executable, "-m", "services.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--grpc-port", str(grpc_port)]
    if dev:
        command.append("--dev")
    with log.open("wb") as err:
        process = subprocess.Popen(
            command,
            cwd=processes.ROOT,
            env=processes.cli_env(env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return CdsServeProcess(process, port, log)
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    server = CdsServeProcess(process, 0, log)
    server.stop()
    raise RuntimeError(f"cds serve did not start:\n{server.logs()[-3000:]}")
