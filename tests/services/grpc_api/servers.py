"""Start the gRPC API for tests and benchmarks: ``cds grpc`` as a child process, or
:func:`serve_grpc` in this process on a loop of its own (to wrap its backend)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.grpc_api import GrpcServer, serve_grpc
from services.recommend import Assessor
from services.settings import Settings
from tests import processes


@dataclass
class GrpcProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it does not stop in time."""
        processes.stop(self.process)


def start_grpc_process(
    env: Mapping[str, str], log_dir: Path, *, timeout: float = 180.0
) -> GrpcProcess:
    """``cds grpc`` on a free loopback port, started with ``env`` added."""
    args = ["grpc", "--host", "127.0.0.1", "--port", "0"]
    process, port, log = processes.start_listening(args, log_dir, env=env, timeout=timeout)
    return GrpcProcess(process, port, log)


@contextmanager
def in_process_server(
    settings: Settings, assessor: Assessor, **options: Any
) -> Iterator[GrpcServer]:
    """:func:`serve_grpc` on 127.0.0.1 and a free port, on an event loop in its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="grpc-test-loop", daemon=True)
    thread.start()
    try:
        server = asyncio.run_coroutine_threadsafe(
            serve_grpc(settings, assessor, port=0, **options), loop
        ).result(30)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
