"""Start ``cds model-server`` as a child process on loopback, for tests and benchmarks."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests import processes


@dataclass
class ModelServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Die without a goodbye (SIGKILL)."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL if it does not stop in time."""
        if self.process.poll() is None:
            self.thaw()  # a frozen server cannot act on SIGTERM
        processes.stop(self.process)


def start_model_server(
    config: Path, log_dir: Path, *, port: int = 0, timeout: float = 180.0
) -> ModelServerProcess:
    """Start the server (``port`` 0: a free port) and wait until it listens."""
    args = ["model-server", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--model-config-file", str(config)]
    process, bound, log = processes.start_listening(args, log_dir, timeout=timeout)
    return ModelServerProcess(process, bound, log)
