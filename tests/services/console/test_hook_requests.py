"""A Bundle → the hook request the console sends: the service must see the same patient."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters import (
    Extractor,
    FHIRInputError,
    parse_datetime,
    record_from_prefetch,
    records_from_bundle,
)
from models.registry import feature_spec
from services.cds_hooks.discovery import CdsService, prefetch_templates
from services.console.examples import EXAMPLES_DIR, current_bundle, list_examples, retimed
from services.console.hook_requests import hook_request

MODELS = {
    "post-mi-mortality",
    "breast-cancer-metastasis",
    "diabetes-progression",
    "therapy-benefit",
}


def service(model: str, hook: str = "patient-view") -> CdsService:
    prefetch = prefetch_templates(feature_spec(model))
    return CdsService(f"{model}-{hook}", hook, model, 1, model, model, "", prefetch)


@pytest.mark.parametrize("example", list_examples(MODELS), ids=lambda e: f"{e.model}/{e.file}")
def test_the_request_carries_the_features_the_bundle_has(example):
    bundle = current_bundle(example)
    (direct,) = records_from_bundle(bundle)
    request = hook_request(service(example.model), bundle)

    assert set(request["prefetch"]) == set(prefetch_templates(feature_spec(example.model)))
    assert request["context"]["patientId"] == direct.key
    via_hook = record_from_prefetch(request["prefetch"], direct.key).record
    extractor = Extractor(feature_spec(example.model))
    now = datetime.now(UTC)
    expected = extractor.extract(direct, now).values
    assert sum(v is not None for v in expected) > 2  # more than age and sex: a real record
    assert extractor.extract(via_hook, now).values == expected


def test_an_example_is_moved_so_its_index_time_is_now():
    example = list_examples({"post-mi-mortality"})[0]
    original = json.loads((EXAMPLES_DIR / example.model / example.file).read_text())
    moved = current_bundle(example)
    shift = datetime.now(UTC) - parse_datetime(example.index_time)
    birth = next(
        e["resource"]["birthDate"] for e in original["entry"] if "birthDate" in e["resource"]
    )
    moved_birth = next(
        e["resource"]["birthDate"] for e in moved["entry"] if "birthDate" in e["resource"]
    )
    assert (
        abs((datetime.fromisoformat(moved_birth) - datetime.fromisoformat(birth)) - shift).days <= 1
    )
    assert retimed(original, timedelta(0)) == original


def test_order_hooks_get_an_empty_draft_order_bundle():
    example = list_examples({"therapy-benefit"})[0]
    request = hook_request(service("therapy-benefit", "order-select"), current_bundle(example))
    assert request["context"]["draftOrders"]["entry"] == []
    assert request["context"]["selections"] == []


@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Patient", "id": "p"},
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": p}} for p in ("a", "b")],
        },
    ],
    ids=["not-a-bundle", "no-patient", "two-patients"],
)
def test_a_bundle_without_exactly_one_patient_is_refused(bundle):
    with pytest.raises(FHIRInputError):
        hook_request(service("post-mi-mortality"), bundle)
