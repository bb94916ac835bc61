"""What an operator sees of a real ``cds serve`` (HTTP and gRPC, shipped models, JWT trust,
prefetch fetched from the EHR's FHIR server): JSON logs carrying the request id and
hookInstance but no patient data or token, even at DEBUG; metrics for the hook and
the model backend; and ``cds probe``, the containers' healthcheck. And of a batch job
(``cds score``): nothing it prints names a patient."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from services.cli import main
from services.grpc_api.client import Client
from tests import processes
from tests.fhir import bundle, patient
from tests.services.cds_hooks.conftest import clinical_resources, hook_request
from tests.services.cds_hooks.server import CdsServeProcess, free_port, start_cds_serve
from tests.services.cds_hooks.stubs import FhirStub, fhir_stub
from tests.services.cds_hooks.tokens import ISSUER, SigningKey, jwks, mint, signing_key

pytestmark = pytest.mark.server

VIEW = "post-mi-mortality-patient-view"
PATIENT = {
    "resourceType": "Patient",
    "id": "pt-4417-xq",
    "gender": "male",
    "birthDate": "1951-07-19",
    "name": [{"family": "Quartermaine", "given": ["Zebulon"]}],
}
ACCESS_TOKEN = "fhir-access-token-5c0ffee"
REQUEST_ID = "ops-test-request-1"


@dataclass
class Deployment:
    server: CdsServeProcess
    grpc_port: int
    fhir: FhirStub
    key: SigningKey
    jwts: list[str]  # every JWT sent, to look for in the log

    def hook_call(self, http: httpx.Client, hook_instance: str) -> httpx.Response:
        """A signed patient-view call without prefetch: the service fetches it all."""
        token = mint(self.key, f"{self.server.url}/cds-services/{VIEW}")
        self.jwts.append(token)
        body = hook_request(fhir_server=self.fhir.fhir, token=ACCESS_TOKEN, patientId=PATIENT["id"])
        body["hookInstance"] = hook_instance
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": REQUEST_ID}
        return http.post(f"/cds-services/{VIEW}", json=body, headers=headers)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("operations")
    key = signing_key("ES384")
    with fhir_stub() as fhir:
        fhir.resources = [PATIENT, *clinical_resources(PATIENT["id"])]
        clients = folder / "clients.yaml"
        client = {"iss": ISSUER, "jwks": jwks(key), "fhir_servers": [fhir.fhir]}
        clients.write_text(yaml.safe_dump({"clients": [client]}))
        env = {
            "CDS_DATABASE_URL": f"sqlite:///{folder / 'cds.db'}",
            "CDS_TRUSTED_CLIENTS": str(clients),
            "CDS_PSEUDONYM_KEY": "operations-test",
            "CDS_LOG_LEVEL": "DEBUG",  # the most a log ever says
        }
        grpc_port = free_port()
        server = start_cds_serve(env, folder, dev=False, grpc_port=grpc_port)
        try:
            yield Deployment(server, grpc_port, fhir, key, [])
        finally:
            server.stop()


def log_lines(server: CdsServeProcess) -> list[dict]:
    return [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]


def test_logs_carry_request_ids_but_no_patient_data_or_tokens(deployment: Deployment):
    hook_instance = str(uuid.uuid4())
    with httpx.Client(base_url=deployment.server.url, timeout=60) as http:
        answer = deployment.hook_call(http, hook_instance)
        assert answer.status_code == 200
        assert len(answer.json()["cards"]) == 1  # the whole path ran: fetched, scored, carded
        refused = http.post(
            f"/cds-services/{VIEW}",
            json=hook_request(patientId=PATIENT["id"]),
            headers={"Authorization": "Bearer not-a-jwt.from-anyone.at-all"},
        )
        assert refused.status_code == 401
    # The prefetch really was fetched, with the EHR's token.
    assert f"/fhir/Patient/{PATIENT['id']}" in deployment.fhir.paths()
    assert {auth for _, auth in deployment.fhir.requests} == {f"Bearer {ACCESS_TOKEN}"}
    with Client(f"127.0.0.1:{deployment.grpc_port}", timeout=60) as grpc:
        reply = grpc.score(bundle(PATIENT, *clinical_resources(PATIENT["id"])))
        assert reply.scores

    lines = log_lines(deployment.server)
    during = [line for line in lines if line.get("hook_instance") == hook_instance]
    (answered,) = [line for line in during if line["message"] == "hook answered"]
    assert (answered["service"], answered["status"], answered["cards"]) == (VIEW, 200, 1)
    assert {line["request_id"] for line in during} == {REQUEST_ID}
    assert any(line["message"] == "JWT refused" for line in lines)

    log = deployment.server.logs()
    name = PATIENT["name"][0]
    secrets = [PATIENT["id"], PATIENT["birthDate"], name["family"], *name["given"]]
    secrets += [ACCESS_TOKEN, "not-a-jwt.from-anyone.at-all", *deployment.jwts]
    secrets += [jwt.rsplit(".", 1)[1] for jwt in deployment.jwts]  # signatures alone
    for secret in secrets:
        assert secret not in log, f"{secret!r} is in the log"


def sample(metrics: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(metrics):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return 0.0


def test_metrics_count_the_hook_and_the_model_backend(deployment: Deployment):
    with httpx.Client(base_url=deployment.server.url, timeout=60) as http:
        before = http.get("/metrics").text
        assert deployment.hook_call(http, str(uuid.uuid4())).status_code == 200
        after = http.get("/metrics").text
    model = {"backend": "embedded", "model": "post-mi-mortality"}
    for name, labels in [
        ("cds_hook_request_duration_seconds_count", {"service": VIEW, "status": "200"}),
        ("cds_model_request_duration_seconds_count", {**model, "method": "predict"}),
        ("cds_model_request_duration_seconds_count", {**model, "method": "explain"}),
    ]:
        assert sample(after, name, labels) == sample(before, name, labels) + 1, name


def test_cds_probe_checks_http_and_grpc_health(deployment: Deployment):
    runner = CliRunner()
    ok = [f"{deployment.server.url}/readyz", f"grpc://127.0.0.1:{deployment.grpc_port}"]
    for url in ok:
        result = runner.invoke(main, ["probe", url])
        assert result.exit_code == 0, result.output
    missing = runner.invoke(main, ["probe", f"{deployment.server.url}/no-such-route"])
    assert (missing.exit_code, "HTTP 404" in missing.output) == (1, True)
    down = runner.invoke(main, ["probe", f"grpc://127.0.0.1:{free_port()}", "--timeout", "1"])
    assert (down.exit_code, "UNAVAILABLE" in down.output) == (1, True)


BATCH_PATIENTS = [  # (id, family, given, birth date): to look for in the job's output
    ("pt-batch-7f21", "Ravensworth", "Ottilie", "1946-02-27"),
    ("pt-batch-93c4", "Pemberton-Hale", "Isidore", "1953-10-05"),
]


def bulk_export(folder: Path) -> Path:
    """The batch patients as a Bulk Data export: one NDJSON file per resource type."""
    by_type: dict[str, list[dict]] = {}
    for pid, family, given, birth in BATCH_PATIENTS:
        person = patient(pid, gender="male", birth=birth)
        person["name"] = [{"family": family, "given": [given]}]
        records = [{**r, "id": f"{pid}-{r['id']}"} for r in clinical_resources(pid)]
        for resource in (person, *records):
            by_type.setdefault(resource["resourceType"], []).append(resource)
    folder.mkdir()
    for rtype, resources in by_type.items():
        lines = "".join(json.dumps(r) + "\n" for r in resources)
        (folder / f"{rtype}.ndjson").write_text(lines)
    return folder


def test_a_batch_job_logs_no_patient_data(tmp_path: Path):
    """`cds score` in-process on the shipped models, at DEBUG: what it prints and logs
    names no patient, while its output scores each of them."""
    source = bulk_export(tmp_path / "export")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "services.cli", "score", str(source), "--out", str(out)]
    command += ["--models", "post-mi-mortality", "--concurrency", "1", "--no-progress"]
    env = processes.cli_env(
        {
            "CDS_LOG_LEVEL": "DEBUG",
            "CDS_JOBS_DIR": str(tmp_path / "jobs"),
            "CDS_PSEUDONYM_KEY": "operations-test",
        }
    )
    env.pop("CDS_BROKER_URL", None)  # in-process (embedded models), no broker
    result = subprocess.run(
        command, cwd=processes.ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scored = (out / "RiskAssessment.ndjson").read_text()
    printed = result.stdout + result.stderr
    for pid, family, given, birth in BATCH_PATIENTS:
        assert f'"Patient/{pid}"' in scored
        for secret in (pid, family, given, birth):
            assert secret not in printed, f"{secret!r} is in the job's output"
