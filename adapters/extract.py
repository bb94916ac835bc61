"""FHIR record → feature values, with the provenance of every value.

The extractor compiles a :class:`FeatureSpec` once into code lookup tables,
then reads each patient's plain-dict resources in a single pass. It checks the
type of every member it reads, so malformed input surfaces as
:class:`FHIRInputError` naming the resource and JSON path; with
``errors="collect"`` the offending resource is skipped and the error kept on
the result instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from adapters.codes import LOINC, canonical_system, normalize_code, parse_token
from adapters.errors import FHIRInputError, type_name
from adapters.fhirtime import NO_TIME, parse_datetime, years_between
from adapters.records import PatientRecord
from adapters.spec import NEVER_USED_STATUSES, Feature, FeatureSpec
from adapters.units import UnitError, affine, canonical_unit

GENE_STUDIED = (LOINC, "48018-6")
_EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_EXCLUDED_MEDICATION_STATEMENT = frozenset({"not-taken"})
_CONTAINED_TYPES = frozenset(
    {"Observation", "Condition", "MedicationRequest", "MedicationStatement"}
)

ErrorMode = Literal["raise", "collect"]
_UNIT_MEMO_LIMIT = 512


class Provenance(NamedTuple):
    """Where a feature value came from: the resource, the member, the original reading."""

    resource_type: str
    resource_id: str | None
    path: str
    effective: str | None
    value: float | str | None
    unit: str | None

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"resourceType": self.resource_type}
        if self.resource_id is not None:
            out["id"] = self.resource_id
        out["path"] = self.path
        for key, val in (
            ("effective", self.effective),
            ("value", self.value),
            ("unit", self.unit),
        ):
            if val is not None:
                out[key] = val
        return out


# A candidate value: (time, number, (resourceType, id) of the top-level resource,
# path inside it,
# time as written, original value, original unit).
_Candidate = tuple[datetime, float, "_Source", str, str | None, object, str | None]
# Only the type and id (as found; checked when provenance is built): a candidate
# must not keep the whole resource alive.
_Source = tuple[object, object]


@dataclass(slots=True)
class PatientFeatures:
    """One patient's raw feature values (``None`` = missing), before imputation.

    ``provenance`` (per feature, the readings behind its value) is built on
    first use: training and matrix building never need it.
    """

    patient_id: str
    values: list[float | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[FHIRInputError] = field(default_factory=list)
    used: list[list[_Candidate]] = field(default_factory=list, repr=False)
    _provenance: list[tuple[Provenance, ...]] | None = field(default=None, repr=False)

    @property
    def provenance(self) -> list[tuple[Provenance, ...]]:
        """Per feature, the readings its value was computed from, newest first."""
        if self._provenance is None:
            self._provenance = [self.provenance_of(i) for i in range(len(self.used))]
        return self._provenance

    def provenance_of(self, index: int) -> tuple[Provenance, ...]:
        """The readings feature ``index`` was computed from, newest first (for callers
        that need a few features' provenance, not all)."""
        if self._provenance is not None:
            return self._provenance[index]
        return tuple(_provenance(c) for c in sorted(self.used[index], key=_by_time, reverse=True))

    def to_dict(self, spec: FeatureSpec) -> dict[str, object]:
        """The ``cds features`` JSON shape for this patient."""
        names = [f.name for f in spec.features]
        out: dict[str, object] = {
            "patient": self.patient_id,
            "features": dict(zip(names, self.values, strict=True)),
            "missing": [n for n, v in zip(names, self.values, strict=True) if v is None],
            "provenance": {
                n: [p.to_dict() for p in prov]
                for n, prov in zip(names, self.provenance, strict=True)
                if prov
            },
        }
        if self.warnings:
            out["warnings"] = self.warnings
        if self.errors:
            out["errors"] = [e.to_dict() for e in self.errors]
        return out


@dataclass(slots=True, eq=False)
class _Slot:
    index: int
    feature: Feature
    lookback: timedelta | None
    statuses: frozenset[str] | None
    value_map: dict[tuple[str, str], float] | None
    presence: bool  # count/exists: the resource counts, its value does not
    # (code, unit) as written -> (factor, offset) to the feature's unit, or a
    # warning text when the unit is unknown or unconvertible.
    units: dict[tuple[object, object], tuple[float, float] | str] = field(default_factory=dict)

    def conversion(self, code: str | None, unit: str | None) -> tuple[float, float] | str:
        feat = self.feature
        ucum = canonical_unit(code, unit)
        if ucum is None and code is None and unit is None and feat.unit == "1":
            ucum = "1"
        written = code or unit
        if ucum is None:
            return f"unknown unit {written!r} for {feat.name}; not used"
        try:
            return affine(ucum, feat.unit, feat.analyte)
        except UnitError:
            return f"unit {written!r} not convertible to {feat.unit!r} for {feat.name}; not used"


class _CodeTable:
    """Exact and prefix code lookup for one kind of resource.

    Lookups are memoised by the (system, code) pair as written, so the
    canonicalisation and prefix scan run once per distinct code, not per resource.
    """

    _MEMO_LIMIT = 100_000

    def __init__(self) -> None:
        self.exact: dict[str, dict[str, list[_Slot]]] = {}
        self.prefix: list[tuple[str, str, _Slot]] = []
        self._memo: dict[str, dict[str, tuple[_Slot, ...]]] = {}
        self._memo_size = 0

    def add(self, token: str, slot: _Slot) -> None:
        if token.endswith("*"):
            system, code = parse_token(token[:-1])
            self.prefix.append((system, code, slot))
        else:
            system, code = parse_token(token)
            self.exact.setdefault(system, {}).setdefault(code, []).append(slot)

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefix)

    def _lookup(self, system: str, code: str) -> tuple[_Slot, ...]:
        """Resolve and memoise a code not seen before."""
        canon = canonical_system(system)
        norm = normalize_code(canon, code)
        slots = list(self.exact.get(canon, {}).get(norm, ()))
        for psys, pcode, slot in self.prefix:
            if psys == canon and norm.startswith(pcode) and slot not in slots:
                slots.append(slot)
        if self._memo_size >= self._MEMO_LIMIT:  # bound memory on adversarial input
            self._memo.clear()
            self._memo_size = 0
        self._memo.setdefault(system, {})[code] = found = tuple(slots)
        self._memo_size += 1
        return found

    def match(self, concept: object, path: str, res: dict) -> tuple[_Slot, ...]:
        """Slots whose codes appear in a CodeableConcept (each slot once)."""
        if concept is None:
            return ()
        if type(concept) is not dict:
            raise _bad(res, path, "a CodeableConcept object", concept)
        codings = concept.get("coding")
        if codings is None:
            return ()
        if type(codings) is not list:
            raise _bad(res, f"{path}.coding", "an array", codings)
        found: tuple[_Slot, ...] = ()
        for i, coding in enumerate(codings):
            if type(coding) is not dict:
                raise _bad(res, f"{path}.coding[{i}]", "a Coding object", coding)
            system, code = coding.get("system"), coding.get("code")
            if type(system) is not str or type(code) is not str:
                if system is not None and type(system) is not str:
                    raise _bad(res, f"{path}.coding[{i}].system", "a string", system)
                if code is not None and type(code) is not str:
                    raise _bad(res, f"{path}.coding[{i}].code", "a string", code)
                continue
            by_code = self._memo.get(system)
            slots = by_code.get(code) if by_code is not None else None
            if slots is None:
                slots = self._lookup(system, code)
            if slots:
                found = slots if not found else found + tuple(s for s in slots if s not in found)
        return found


def _bad(res: dict, path: str, expected: str, got: object) -> FHIRInputError:
    rid = res.get("id")
    return FHIRInputError(
        f"expected {expected}, got {type_name(got)}",
        resource_type=res.get("resourceType") if type(res.get("resourceType")) is str else None,
        resource_id=rid if type(rid) is str else None,
        path=path,
    )


def _time(
    res: dict, member: str, within: dict | None = None, path: str = "$"
) -> tuple[datetime, str] | None:
    """Parse the dateTime in ``member`` of ``within`` (default: the resource itself)."""
    holder = res if within is None else within
    text = holder.get(member)
    if text is None:
        return None
    if type(text) is not str:
        raise _bad(res, f"{path}.{member}", "a dateTime string", text)
    try:
        return parse_datetime(text), text
    except ValueError:
        raise FHIRInputError(
            f"not a FHIR dateTime: {text[:40]!r}",
            resource_type=res.get("resourceType"),
            resource_id=res.get("id") if type(res.get("id")) is str else None,
            path=f"{path}.{member}",
        ) from None


def _period_time(res: dict, member: str, prefer: tuple[str, ...]) -> tuple[datetime, str] | None:
    period = res.get(member)
    if period is None:
        return None
    if type(period) is not dict:
        raise _bad(res, f"$.{member}", "a Period object", period)
    for end in prefer:
        got = _time(res, end, period, f"$.{member}")
        if got is not None:
            return got
    return None


def _code(res: dict, member: str) -> str | None:
    """A ``code`` member (such as ``status``): a string, or absent."""
    value = res.get(member)
    if value is None or type(value) is str:
        return value
    raise _bad(res, f"$.{member}", "a code string", value)


def _status_code(res: dict, member: str) -> str | None:
    """A status that is a code (R4 Observation) or a CodeableConcept (R4 Condition)."""
    value = res.get(member)
    if value is None or type(value) is str:
        return value
    if type(value) is not dict:
        raise _bad(res, f"$.{member}", "a code or CodeableConcept", value)
    codings = value.get("coding")
    if type(codings) is list:
        for coding in codings:
            if type(coding) is dict and type(coding.get("code")) is str:
                return coding["code"]
    return None


@dataclass(slots=True)
class _Run:
    """The state of one :meth:`Extractor.extract` call."""

    index_time: datetime
    record: PatientRecord
    out: PatientFeatures
    acc: list[list[_Candidate]]
    since: list[datetime | None]  # per feature: the start of its lookback window


class Extractor:
    """Compiled feature spec: call :meth:`extract` once per patient."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._slots: list[_Slot] = []
        self._observation = _CodeTable()
        self._gene = _CodeTable()
        self._condition = _CodeTable()
        self._medication = _CodeTable()
        tables = {
            "observation": (self._observation,),
            "genomic": (self._observation, self._gene),
            "condition": (self._condition,),
            "medication": (self._medication,),
            "patient": (),
        }
        for i, feat in enumerate(spec.features):
            slot = _Slot(
                index=i,
                feature=feat,
                lookback=timedelta(days=feat.lookback_days) if feat.lookback_days else None,
                statuses=feat.allowed_statuses,
                value_map=(
                    {parse_token(k): v for k, v in feat.value_map.items()}
                    if feat.value_map
                    else None
                ),
                presence=feat.aggregation in ("count", "exists"),
            )
            self._slots.append(slot)
            for table in tables[feat.source]:
                for token in feat.codes:
                    table.add(token, slot)
        self._handlers = {
            "Observation": self._read_observation,
            "Condition": self._read_condition,
            "MedicationRequest": self._read_medication,
            "MedicationStatement": self._read_medication,
        }

    # -- public ---------------------------------------------------------------

    def extract(
        self, record: PatientRecord, index_time: datetime, *, errors: ErrorMode = "raise"
    ) -> PatientFeatures:
        """Feature values for one patient as of ``index_time`` (timezone-aware)."""
        out = PatientFeatures(patient_id=record.key)
        since = [index_time - s.lookback if s.lookback else None for s in self._slots]
        run = _Run(index_time, record, out, [[] for _ in self._slots], since)
        handlers = self._handlers
        for res in record.resources:
            try:
                if type(res) is not dict:
                    raise _bad({}, "$", "a resource object", res)
                rtype = res.get("resourceType")
                handler = handlers.get(rtype) if type(rtype) is str else None
                if handler is not None:
                    handler(res, res, "", run)
                if "contained" in res:
                    self._read_contained(res, run)
            except FHIRInputError as err:
                if errors == "raise":
                    raise
                out.errors.append(err)
        self._aggregate(run, errors)
        return out

    def extract_many(
        self,
        records: Iterable[PatientRecord],
        index_time: datetime,
        *,
        errors: ErrorMode = "raise",
    ) -> list[PatientFeatures]:
        return [self.extract(r, index_time, errors=errors) for r in records]

    # -- per resource ---------------------------------------------------------

    def _read_contained(self, res: dict, run: _Run) -> None:
        contained = res["contained"]
        if type(contained) is not list:
            raise _bad(res, "$.contained", "an array", contained)
        for i, inner in enumerate(contained):
            if type(inner) is dict:
                rtype = inner.get("resourceType")
                if type(rtype) is str and rtype in _CONTAINED_TYPES:
                    self._handlers[rtype](inner, res, f"contained[{i}].", run)

    def _read_observation(self, res: dict, top: dict, prefix: str, run: _Run) -> None:
        status = res.get("status")
        if status is not None:
            if type(status) is not str:
                raise _bad(res, "$.status", "a code string", status)
            if status in NEVER_USED_STATUSES:
                return
        slots = self._observation.match(res.get("code"), "$.code", res)
        components = res.get("component")
        if not slots and components is None:
            return
        hits: list[tuple[_Slot, dict, str]] = [(slot, res, prefix) for slot in slots]
        if components is not None:
            if type(components) is not list:
                raise _bad(res, "$.component", "an array", components)
            for i, comp in enumerate(components):
                if type(comp) is not dict:
                    raise _bad(res, f"$.component[{i}]", "a component object", comp)
                cpath = f"$.component[{i}].code"
                for slot in self._observation.match(comp.get("code"), cpath, res):
                    hits.append((slot, comp, f"{prefix}component[{i}]."))
                if self._gene and _is_gene_studied(comp):
                    vpath = f"$.component[{i}].valueCodeableConcept"
                    for slot in self._gene.match(comp.get("valueCodeableConcept"), vpath, res):
                        hits.append((slot, res, prefix))
        if not hits:
            return
        when = _observation_time(res)
        if when is None:
            run.out.warnings.append(f"{_ref(top)}: no effective time; not used")
            return
        t, t_text = when
        index_time = run.index_time
        if t > index_time:
            return
        acc, since = run.acc, run.since
        source = (top.get("resourceType"), top.get("id"))
        for slot, holder, path in hits:
            start = since[slot.index]
            if start is not None and t < start:
                continue
            value = self._value(slot, holder, path, res, top, run.out)
            if value is not None:
                acc[slot.index].append((t, value[0], source, value[1], t_text, value[2], value[3]))

    def _value(
        self, slot: _Slot, holder: dict, path: str, res: dict, top: dict, out: PatientFeatures
    ) -> tuple[float, str, object, str | None] | None:
        """(number in the feature's unit, path, original value, original unit), or None."""
        if slot.presence:
            return 1.0, path.rstrip(".") or "code", None, None
        if slot.value_map is not None:
            return self._coded_value(slot, holder, path, res, top, out)
        quantity = holder.get("valueQuantity")
        if quantity is not None:
            if type(quantity) is not dict:
                raise _bad(res, f"$.{path}valueQuantity", "a Quantity object", quantity)
            number = quantity.get("value")
            if number is None:
                return None
            if type(number) is not float and type(number) is not int:
                raise _bad(res, f"$.{path}valueQuantity.value", "a number", number)
            code, unit = quantity.get("code"), quantity.get("unit")
            if code is not None and type(code) is not str:
                raise _bad(res, f"$.{path}valueQuantity.code", "a string", code)
            if unit is not None and type(unit) is not str:
                raise _bad(res, f"$.{path}valueQuantity.unit", "a string", unit)
            conversion = slot.units.get((code, unit))
            if conversion is None:
                conversion = slot.conversion(code, unit)
                if len(slot.units) < _UNIT_MEMO_LIMIT:
                    slot.units[(code, unit)] = conversion
            if type(conversion) is str:
                out.warnings.append(f"{_ref(top)}: {conversion}")
                return None
            converted = number * conversion[0] + conversion[1]
            return converted, f"{path}valueQuantity", number, code or unit
        integer = holder.get("valueInteger")
        if integer is not None:
            if type(integer) is not int:
                raise _bad(res, f"$.{path}valueInteger", "an integer", integer)
            if slot.feature.unit != "1":
                out.warnings.append(
                    f"{_ref(top)}: valueInteger has no unit for {slot.feature.name}; not used"
                )
                return None
            return float(integer), f"{path}valueInteger", integer, None
        return None

    def _coded_value(
        self, slot: _Slot, holder: dict, path: str, res: dict, top: dict, out: PatientFeatures
    ) -> tuple[float, str, object, str | None] | None:
        concept = holder.get("valueCodeableConcept")
        if concept is None:
            return None
        if type(concept) is not dict:
            raise _bad(res, f"$.{path}valueCodeableConcept", "a CodeableConcept", concept)
        codings = concept.get("coding")
        if type(codings) is list:
            for coding in codings:
                if type(coding) is not dict:
                    continue
                system, code = coding.get("system"), coding.get("code")
                if type(system) is str and type(code) is str:
                    system = canonical_system(system)
                    key = (system, normalize_code(system, code))
                    if key in slot.value_map:
                        return slot.value_map[key], f"{path}valueCodeableConcept", code, None
        out.warnings.append(f"{_ref(top)}: coded value not known for {slot.feature.name}; not used")
        return None

    def _read_condition(self, res: dict, top: dict, prefix: str, run: _Run) -> None:
        slots = self._condition.match(res.get("code"), "$.code", res)
        if not slots:
            return
        if _status_code(res, "verificationStatus") in _EXCLUDED_VERIFICATION:
            return
        clinical = _status_code(res, "clinicalStatus")
        if clinical in NEVER_USED_STATUSES:
            return
        when = (
            _time(res, "onsetDateTime")
            or _period_time(res, "onsetPeriod", ("start", "end"))
            or _time(res, "recordedDate")
        )
        self._add_presence(slots, clinical, when, top, prefix + "code", run)

    def _read_medication(self, res: dict, top: dict, prefix: str, run: _Run) -> None:
        status = _code(res, "status")
        if status in NEVER_USED_STATUSES or status in _EXCLUDED_MEDICATION_STATEMENT:
            return
        concept = res.get("medicationCodeableConcept")
        path = "medicationCodeableConcept"
        if concept is None:
            concept, path = self._referenced_medication(res, top, run.record), "medicationReference"
        slots = self._medication.match(concept, f"$.{path}", res)
        if not slots:
            return
        when = (
            _time(res, "authoredOn")
            or _time(res, "effectiveDateTime")
            or _period_time(res, "effectivePeriod", ("start", "end"))
            or _time(res, "dateAsserted")
        )
        self._add_presence(slots, status, when, top, prefix + path, run)

    def _referenced_medication(self, res: dict, top: dict, record: PatientRecord) -> object:
        ref = res.get("medicationReference")
        if ref is None:
            return None
        if type(ref) is not dict:
            raise _bad(res, "$.medicationReference", "a Reference object", ref)
        text = ref.get("reference")
        if type(text) is not str:
            return None
        med = None
        if text.startswith("#"):
            contained = top.get("contained")  # "#id" names a resource in the container
            if type(contained) is list:
                for inner in contained:
                    if type(inner) is dict and inner.get("id") == text[1:]:
                        med = inner
        else:
            med = record.references.get(text)
        return med.get("code") if type(med) is dict else None

    def _add_presence(
        self,
        slots: tuple[_Slot, ...],
        status: str | None,
        when: tuple[datetime, str] | None,
        top: dict,
        path: str,
        run: _Run,
    ) -> None:
        """Conditions and medications: the resource counts when its status and time fit."""
        t, t_text = when if when is not None else (None, None)
        index_time = run.index_time
        if t is not None and t > index_time:
            return
        source = (top.get("resourceType"), top.get("id"))
        for slot in slots:
            if status is not None and slot.statuses is not None and status not in slot.statuses:
                continue
            start = run.since[slot.index]
            if start is not None and (t is None or t < start):
                continue
            order = t if t is not None else NO_TIME
            run.acc[slot.index].append((order, 1.0, source, path, t_text, status, None))

    # -- aggregation ----------------------------------------------------------

    def _aggregate(self, run: _Run, errors: ErrorMode) -> None:
        values, used = run.out.values, run.out.used
        for slot, cands in zip(self._slots, run.acc, strict=True):
            feat = slot.feature
            if feat.source == "patient":
                try:
                    reading = self._patient_value(feat, run)
                except FHIRInputError as err:
                    if errors == "raise":
                        raise
                    run.out.errors.append(err)
                    reading = None
                values.append(reading[1] if reading else None)
                used.append([reading] if reading else [])
                continue
            agg = feat.aggregation
            if agg == "exists" or agg == "count":
                values.append(float(len(cands)) if agg == "count" else float(bool(cands)))
                used.append(cands)
            elif not cands:
                values.append(None)
                used.append(cands)
            elif agg == "last":
                best = max(cands, key=_by_time)
                values.append(best[1])
                used.append([best])
            elif agg == "min" or agg == "max":
                best = (min if agg == "min" else max)(cands, key=_by_value)
                values.append(best[1])
                used.append([best])
            else:  # mean
                values.append(sum(c[1] for c in cands) / len(cands))
                used.append(cands)

    def _patient_value(self, feat: Feature, run: _Run) -> _Candidate | None:
        """Age or sex as a reading of the Patient resource, or None when unknown."""
        patient = run.record.patient
        if patient is None:
            return None
        if feat.attribute == "age":
            born = _time(patient, "birthDate")
            if born is None:
                return None
            age = years_between(born[0], run.index_time)
            if age < 0:
                run.out.warnings.append("Patient: birthDate is after the index time; age not used")
                return None
            source = (patient.get("resourceType"), patient.get("id"))
            return (born[0], age, source, "birthDate", None, born[1], None)
        gender = patient.get("gender")
        if gender is None:
            return None
        if type(gender) is not str:
            raise _bad(patient, "$.gender", "a code string", gender)
        if gender == "unknown":
            return None
        value = 1.0 if gender == feat.equals else 0.0
        source = (patient.get("resourceType"), patient.get("id"))
        return (NO_TIME, value, source, "gender", None, gender, None)


def _observation_time(res: dict) -> tuple[datetime, str] | None:
    """effective[x] (a Period gives its end), else ``issued``."""
    text = res.get("effectiveDateTime")
    if type(text) is str:
        try:
            return parse_datetime(text), text
        except ValueError:
            pass  # _time below reports it with its path
    return (
        _time(res, "effectiveDateTime")
        or _time(res, "effectiveInstant")
        or _period_time(res, "effectivePeriod", ("end", "start"))
        or _time(res, "issued")
    )


def _is_gene_studied(component: dict) -> bool:
    code = component.get("code")
    if type(code) is not dict or type(code.get("coding")) is not list:
        return False
    return any(
        type(c) is dict
        and type(c.get("system")) is str
        and canonical_system(c["system"]) == GENE_STUDIED[0]
        and c.get("code") == GENE_STUDIED[1]
        for c in code["coding"]
    )


def _by_time(c: _Candidate) -> float:
    return c[0]


def _by_value(c: _Candidate) -> float:
    return c[1]


def _ref(res: dict) -> str:
    rid = res.get("id")
    rtype = res.get("resourceType")
    return f"{rtype}/{rid}" if type(rid) is str else str(rtype)


def _provenance(c: _Candidate) -> Provenance:
    rtype, rid = c[2]
    rtype = rtype if type(rtype) is str else None
    rid = rid if type(rid) is str else None
    value = c[5]
    if value is not None and type(value) not in (int, float, str):
        value = str(value)
    return Provenance(
        resource_type=rtype,
        resource_id=rid,
        path=c[3],
        effective=c[4],
        value=value,
        unit=c[6],
    )
