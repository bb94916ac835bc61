"""The Kubernetes manifests, checked without a cluster: valid against the API's schemas
(kubernetes-validate ships them, so this runs offline), and consistent with each
other, the image, the settings, the CLI and the HTTP routes."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from services.cds_hooks.clients import load_trusted_clients
from services.grpc_api.server import SERVICE_NAME
from tests.deploy.topology import (
    CDS_SERVICES,
    DEPLOY,
    IMAGE,
    K8S,
    NON_ROOT_UID,
    cds_command,
    cds_env_settings,
    compose,
    exposed_ports,
    http_routes,
    manifests,
    mounted,
    path_settings,
)

KUBERNETES_VERSION = "1.33"  # oldest release the manifests must apply to
WORKLOADS = ("Deployment", "StatefulSet")
POD_TEMPLATES = (*WORKLOADS, "Job")
TEMPLATES = {"secrets.yaml", "score-job.yaml"}  # applied by hand, not by the kustomization


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict]:
    found: dict[tuple[str, str], dict] = {}
    for _, doc in manifests():
        meta = doc["metadata"]
        key = (doc["kind"], meta.get("name") or meta["generateName"])
        assert key not in found, f"{key} defined twice"
        found[key] = doc
    return found


def pod(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def only_container(workload: dict) -> dict:
    (container,) = pod(workload)["containers"]
    return container


@pytest.mark.parametrize(
    ("file", "doc"), manifests(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_manifest_is_valid_against_the_kubernetes_schema(file: str, doc: dict):
    # strict: unknown fields (a misspelt key Kubernetes would drop silently) fail too.
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest_but_the_templates():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {file for file, _ in manifests()}
    assert files >= TEMPLATES
    assert set(kustomization["resources"]) == files - TEMPLATES
    assert [(i["name"], i["newTag"]) for i in kustomization["images"]] == [tuple(IMAGE.split(":"))]


def test_cds_pods_run_the_image_as_non_root_with_real_commands(objects):
    for name in CDS_SERVICES:
        workload = objects[("Deployment", name)]
        container = only_container(workload)
        assert container["image"] == IMAGE
        assert pod(workload)["securityContext"]["runAsUser"] == NON_ROOT_UID
        assert pod(workload)["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {p["containerPort"] for p in container["ports"]} <= exposed_ports()
        # The same command lines as compose.
        assert container["args"] == compose()["services"][name]["command"]


def test_cds_pods_settings_are_real_and_their_paths_mounted(objects, monkeypatch):
    settings_map = objects[("ConfigMap", "cds-settings")]["data"]
    secret = objects[("Secret", "cds-secrets")]["stringData"]
    for name in CDS_SERVICES:
        workload = objects[("Deployment", name)]
        container = only_container(workload)
        refs = [
            (kind, source[key]["name"])
            for source in container["envFrom"]
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))
            if key in source
        ]
        assert refs == [("ConfigMap", "cds-settings"), ("Secret", "cds-secrets")]
        settings = cds_env_settings({**settings_map, **secret}, monkeypatch)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        for variable, path in path_settings(settings).items():
            assert mounted(path, set(mounts)), f"{name}: {variable}={path} is not mounted"
        volumes = {v["name"]: v for v in pod(workload)["volumes"]}
        assert set(mounts.values()) == set(volumes)
        # Models and models.config: what TensorFlow Serving reads.
        models = volumes[mounts[str(settings.model_dir)]]
        assert models["persistentVolumeClaim"]["claimName"] == "cds-models"
        sources = volumes[mounts["/config"]]["projected"]["sources"]
        files = {
            item["path"]: (s["configMap"]["name"], item["key"])
            for s in sources
            for item in s["configMap"].get("items", [])
        }
        assert files[settings.model_config_file.name] == ("tf-serving-config", "models.config")
        assert {"configMap": {"name": "cds-trusted-clients"}} in sources
    assert settings.tfserving_target == "dns:///tf-serving:8500"


def test_every_referenced_object_exists(objects):
    for (kind, _name), doc in objects.items():
        if kind in WORKLOADS:
            spec = pod(doc)
            for volume in spec.get("volumes", []):
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", claim) in objects, claim
                if "configMap" in volume:
                    assert ("ConfigMap", volume["configMap"]["name"]) in objects
                for source in volume.get("projected", {}).get("sources", []):
                    config = objects[("ConfigMap", source["configMap"]["name"])]
                    for item in source["configMap"].get("items", []):
                        assert item["key"] in config["data"]
            for container in spec["containers"]:
                for env in container.get("env", []):
                    if "valueFrom" in env:
                        ref = env["valueFrom"]["secretKeyRef"]
                        assert ref["key"] in objects[("Secret", ref["name"])]["stringData"]
        if kind == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) in objects
        if kind == "Ingress":
            for tls in doc["spec"]["tls"]:
                assert objects[("Secret", tls["secretName"])]["type"] == "kubernetes.io/tls"
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    ports = objects[("Service", backend["name"])]["spec"]["ports"]
                    assert backend["port"]["name"] in {p["name"] for p in ports}


def test_services_select_a_workload_and_its_named_ports(objects):
    workloads = [doc for (kind, _), doc in objects.items() if kind in WORKLOADS]
    for (kind, name), doc in objects.items():
        if kind != "Service":
            continue
        (workload,) = [
            w
            for w in workloads
            if doc["spec"]["selector"].items()
            <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        ports = {
            p["name"]: p["containerPort"] for c in pod(workload)["containers"] for p in c["ports"]
        }
        for port in doc["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: no port {port['targetPort']}"
    for doc in workloads:
        assert doc["spec"]["selector"]["matchLabels"].items() <= (
            doc["spec"]["template"]["metadata"]["labels"].items()
        )


def test_the_score_job_runs_cds_score_on_mounted_data(objects, monkeypatch):
    job = objects[("Job", "cds-score-")]
    container = only_container(job)
    assert container["image"] == IMAGE
    assert pod(job)["securityContext"]["runAsUser"] == NON_ROOT_UID
    score = cds_command(container["args"], resilient=True)  # the export is in the pod only
    assert score.info_name == "score"
    source = container["args"][1]
    env = {
        **objects[("ConfigMap", "cds-settings")]["data"],
        **objects[("Secret", "cds-secrets")]["stringData"],
    }
    settings = cds_env_settings(env, monkeypatch)
    assert settings.broker_url  # chunks go to the workers
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for path in (*path_settings(settings).values(), source, score.params["out"]):
        assert mounted(Path(path), mounts), path


def test_the_api_and_the_workers_autoscale(objects):
    scaled = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]
        for (kind, _), doc in objects.items()
        if kind == "HorizontalPodAutoscaler"
    }
    assert set(scaled) == set(CDS_SERVICES)
    for name, spec in scaled.items():
        assert 1 <= spec["minReplicas"] < spec["maxReplicas"]
        # CPU utilisation is measured against requests: every container must set one.
        assert only_container(objects[("Deployment", name)])["resources"]["requests"]["cpu"]


def probes(container: dict) -> dict[str, dict]:
    return {
        kind: container[kind]
        for kind in ("startupProbe", "readinessProbe", "livenessProbe")
        if kind in container
    }


def port_number(container: dict, port: int | str) -> int:
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    return named[port] if isinstance(port, str) else port


def test_http_probes_hit_real_routes(objects):
    hooks = only_container(objects[("Deployment", "cds-hooks")])
    serve = cds_command(hooks["args"]).params
    checks = probes(hooks)
    assert checks["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert checks["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in checks.values():
        assert probe["httpGet"]["path"] in http_routes()
        assert port_number(hooks, probe["httpGet"]["port"]) == serve["port"]


def test_grpc_probes_use_the_health_service_of_the_api(objects):
    grpc = only_container(objects[("Deployment", "grpc")])
    port = cds_command(grpc["args"]).params["port"]
    checks = probes(grpc)
    assert set(checks) == {"startupProbe", "readinessProbe", "livenessProbe"}
    for probe in checks.values():
        assert probe["grpc"] == {"port": port, "service": SERVICE_NAME}
    # Kubernetes' gRPC probes are plaintext: a TLS-only server would never be ready.
    settings = objects[("ConfigMap", "cds-settings")]["data"]
    assert not any(name.startswith("CDS_GRPC_TLS") for name in settings)


def test_worker_probes_its_metrics_port(objects, monkeypatch):
    worker = only_container(objects[("Deployment", "worker")])
    settings = cds_env_settings(objects[("ConfigMap", "cds-settings")]["data"], monkeypatch)
    for probe in probes(worker).values():
        assert probe["httpGet"]["path"] == "/metrics"
        assert port_number(worker, probe["httpGet"]["port"]) == settings.worker_metrics_port


def test_trusted_clients_configmap_is_the_example_file_and_loads(objects, tmp_path: Path):
    text = objects[("ConfigMap", "cds-trusted-clients")]["data"]["trusted-clients.yaml"]
    assert text == (DEPLOY / "trusted-clients.yaml").read_text()
    copy = tmp_path / "trusted-clients.yaml"
    copy.write_text(text)
    assert load_trusted_clients(copy)


def test_secrets_are_templates_not_secrets(objects):
    for (kind, name), doc in objects.items():
        if kind == "Secret":
            assert all("REPLACE-ME" in value for value in doc["stringData"].values()), name
