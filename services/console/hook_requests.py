"""A FHIR Bundle of one patient → the CDS Hooks request an EHR would send for it.

Each of the service's prefetch keys gets what its template would find on a FHIR
server holding just that Bundle: the Patient for ``Patient/{{context.patientId}}``,
a searchset Bundle of the patient's own resources of the template's type for a search
(all of them: the service reads only the codes it needs, and a resource found by
two keys counts once). Order hooks get an empty ``draftOrders`` Bundle, so a
treatment card shows its suggestion.
"""

from __future__ import annotations

import uuid

from adapters import FHIRInputError, PatientRecord, records_from_bundle
from services.cds_hooks.discovery import ORDER_HOOKS, CdsService


def hook_request(service: CdsService, bundle: object) -> dict:
    """The request for ``service`` about the one patient in ``bundle``.

    Raises :class:`adapters.FHIRInputError` when the Bundle cannot be read or does
    not hold exactly one patient.
    """
    records = records_from_bundle(bundle)
    if len(records) != 1:
        raise FHIRInputError(f"expected one patient, found {len(records)}", path="$")
    (record,) = records
    context: dict[str, object] = {"userId": "Practitioner/console", "patientId": record.key}
    if service.hook in ORDER_HOOKS:
        context["draftOrders"] = _bundle("collection", [])
        if service.hook == "order-select":
            context["selections"] = []
    return {
        "hook": service.hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            key: _prefetch_value(template, record) for key, template in service.prefetch.items()
        },
    }


def _prefetch_value(template: str, record: PatientRecord) -> dict | None:
    if template.startswith("Patient/"):
        return record.patient
    resource_type = template.partition("?")[0]
    return _bundle(
        "searchset", [r for r in record.resources if r.get("resourceType") == resource_type]
    )


def _bundle(kind: str, resources: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}
