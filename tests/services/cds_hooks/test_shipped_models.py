"""The shipped models' example patients, end to end through the service.

Each example patient (``models/examples/<model>/``) is moved in time so that
its index time is now, put on a FHIR server on loopback, and asked about with
no prefetch at all: the service must fetch everything the model reads through
its discovery templates and answer with the card the recommendation core gives
for the same record scored directly, and with a valid FHIR RiskAssessment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from adapters import parse_datetime, records_from_bundle
from adapters.validation import validate_resource
from services.cds_hooks import create_app
from services.console.examples import EXAMPLES_DIR, list_examples, retimed
from services.recommend import Assessor
from services.settings import Settings
from tests.services.cds_hooks.conftest import SHIPPED, checked, hook_request
from tests.services.cds_hooks.stubs import FhirStub, fhir_stub

SERVICE = {m: f"{m}-patient-view" for m in SHIPPED} | {
    "therapy-benefit": "therapy-benefit-order-sign"
}


def examples() -> list[tuple[str, str, str]]:
    return [(e.model, e.file, e.index_time) for e in list_examples(set(SHIPPED))]


@pytest.fixture(scope="module")
def stub() -> Iterator[FhirStub]:
    with fhir_stub() as server:
        yield server


@pytest.fixture(scope="module")
def shipped_client(tmp_path_factory, shipped_inference) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("shipped")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'cds.db'}",
        dev_disable_auth=True,
        public_base_url="http://testserver",
        pseudonym_key=SecretStr("k"),
        hook_budget_ms=5000,  # correctness here, not speed: a loaded CI machine must not fail-safe
        system_actions=True,
    )
    with TestClient(create_app(settings, inference=shipped_inference)) as client:
        yield client


@pytest.mark.parametrize(("model", "file", "index_time"), examples())
def test_an_example_patient_fetched_through_the_templates_gets_the_cores_card(
    model, file, index_time, stub, shipped_client, shipped_inference
):
    shift = datetime.now(UTC) - parse_datetime(index_time)
    bundle = retimed(json.loads((EXAMPLES_DIR / model / file).read_text()), shift)
    stub.resources = [e["resource"] for e in bundle["entry"]]
    (record,) = records_from_bundle(bundle)
    expected = Assessor(shipped_inference, shipped_client.app.state.runtime.settings).assess(
        model, [record], datetime.now(UTC)
    )[0]
    context = (
        {"draftOrders": {"resourceType": "Bundle", "entry": []}}
        if "order" in SERVICE[model]
        else {}
    )
    request = hook_request(
        SERVICE[model].removeprefix(f"{model}-"), fhir_server=stub.fhir, **context
    )
    request["context"]["patientId"] = record.key
    response = checked(shipped_client.post(f"/cds-services/{SERVICE[model]}", json=request))
    assert response.status_code == 200, response.text
    body = response.json()
    (card,) = body["cards"]
    assert card["summary"] == expected.summary
    assert card["indicator"] == expected.band.indicator
    assert f"Model `{model}` version 1." in card["detail"]
    if expected.missing:
        assert "Not found in the record" in card["detail"]
    best = expected.recommended
    if best is not None and best.order is not None:  # nothing drafted: suggest the best option
        (suggestion,) = card["suggestions"]
        order = suggestion["actions"][0]["resource"]
        validate_resource(order)
        assert order["medicationCodeableConcept"]["coding"][0]["code"] == best.order["code"]["code"]
    (action,) = body["systemActions"]
    validate_resource(action["resource"])  # a valid FHIR R4 RiskAssessment for every task
    assert action["resource"]["subject"] == {"reference": f"Patient/{record.key}"}
