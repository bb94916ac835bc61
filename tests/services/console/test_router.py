"""The console with authentication on: pages and model cards yes, trying patients no."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.cds_hooks import create_app
from services.settings import Settings
from tests.services.cds_hooks.fakes import FakeInference


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cds.db'}",
        public_base_url="http://testserver",
        pseudonym_key=SecretStr("k"),
    )
    with TestClient(create_app(settings, inference=FakeInference(), clients={})) as test_client:
        yield test_client


def test_the_page_and_its_files_are_served(client):
    page = client.get("/console")
    assert page.status_code == 200
    assert "Precision CDS console" in page.text
    for asset in ("console.js", "console.css", "vendor/markdown-it.min.js"):
        assert client.get(f"/console/static/{asset}").status_code == 200


def test_with_authentication_on_trying_patients_is_refused(client):
    assert client.get("/console/api/status").json() == {"try_patients": False}
    assert client.get("/console/api/examples").status_code == 403
    example = "/console/api/examples/post-mi-mortality/whas500-row-323.json"
    assert client.get(example).status_code == 403
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    refused = client.post("/console/api/hook-request/post-mi-mortality-patient-view", json=bundle)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
