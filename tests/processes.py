"""Child processes the tests start: ``python -m services.cli ...`` servers on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What `cds model-server` and `cds grpc` print once their port is bound.
LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


def cli_env(extra: Mapping[str, str] = {}) -> dict[str, str]:
    """This process's environment, importing this checkout's code, plus ``extra``."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def start_listening(
    args: Sequence[str],
    log_dir: Path,
    *,
    env: Mapping[str, str] = {},
    timeout: float = 180.0,
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Start ``cds ARGS`` and wait until it prints the port it listens on.

    Returns the process, the port and its log file. Output goes to files in
    ``log_dir`` (pipes could fill up and block the server).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{args[0]}-{time.monotonic_ns()}"
    out_path, log_path = log_dir / f"{stem}.out", log_dir / f"{stem}.log"
    command = [sys.executable, "-m", "services.cli", *args]
    with out_path.open("wb") as out, log_path.open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=cli_env(env), stdout=out, stderr=err)
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        found = LISTENING.search(out_path.read_bytes())
        if found:
            return process, int(found.group(1)), log_path
        if process.poll() is not None:
            raise RuntimeError(
                f"cds {args[0]} exited with {process.returncode}: "
                f"{log_path.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.1)
    process.kill()
    raise TimeoutError(f"cds {args[0]} did not listen within {timeout}s; see {log_path}")


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM (a graceful stop), SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
