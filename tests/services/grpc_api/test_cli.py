"""``cds grpc``: what it says about itself and how it fails (its API is tested beside this)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from services.cli import main
from tests.inference.fixtures import ModelDir
from tests.processes import ROOT


def test_help_names_the_service_and_its_settings():
    result = CliRunner().invoke(main, ["grpc", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "precisioncds.v1.DecisionSupport" in text
    assert "CDS_GRPC_PORT" in text


def test_half_a_tls_configuration_is_a_clean_error(tmp_path, monkeypatch):
    from services.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("CDS_GRPC_TLS_CERT", str(tmp_path / "server.crt"))
    try:
        result = CliRunner().invoke(main, ["grpc", "--port", "0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "CDS_GRPC_TLS_CERT and CDS_GRPC_TLS_KEY go together" in result.output


@pytest.mark.slow
@pytest.mark.server
def test_a_busy_port_is_an_error(grpc_models: ModelDir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "grpc", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "CDS_MODEL_DIR": str(grpc_models.root)},
            capture_output=True,
            timeout=300,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr.decode()
