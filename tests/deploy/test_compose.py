"""The image and the compose topology, checked without a Docker engine (none runs here):
what the containers run, set, mount and probe must exist in this repository."""

from __future__ import annotations

import json

import pytest

from tests.deploy.topology import (
    CDS_SERVICES,
    DEPLOY,
    IMAGE,
    NON_ROOT_UID,
    ROOT,
    cds_command,
    cds_env_settings,
    compose,
    dockerfile,
    exposed_ports,
    http_routes,
    interpolate,
    mounted,
    path_settings,
    shell_words,
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return compose()["services"]


def test_the_topology_has_every_tier(services: dict[str, dict]):
    assert set(services) == {*CDS_SERVICES, "redis", "postgres", "tf-serving"}
    for name in CDS_SERVICES:
        assert services[name]["image"] == IMAGE
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert set(services[name]["depends_on"]) == {"redis", "postgres", "tf-serving"}


def test_dockerfile_is_multi_stage_and_runs_as_non_root():
    steps = dockerfile()
    stages = [args for instruction, args in steps if instruction == "FROM"]
    assert len(stages) >= 2
    runtime = max(i for i, (instruction, _) in enumerate(steps) if instruction == "FROM")
    final = steps[runtime:]
    assert ("USER", f"{NON_ROOT_UID}:{NON_ROOT_UID}") in final
    # The runtime stage takes only the built environment, never the sources.
    copies = [args for instruction, args in final if instruction == "COPY"]
    assert copies
    assert all(args.startswith("--from=build ") for args in copies)
    assert ("ENTRYPOINT", '["cds"]') in final


def test_the_images_own_healthcheck_probes_its_default_command():
    steps = dict(dockerfile())
    serve = cds_command(json.loads(steps["CMD"])).params
    check = json.loads(steps["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert check == ["cds", "probe", f"http://127.0.0.1:{serve['port']}/readyz"]
    assert "/readyz" in http_routes()


def test_the_image_copies_files_that_exist_and_the_build_context_keeps():
    sources = [
        source
        for instruction, args in dockerfile()
        if instruction == "COPY" and not args.startswith("--from=")
        for source in args.split()[:-1]
    ]
    assert sources
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert patterns[0] == "**"  # everything is left out unless listed
    kept = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source in kept, f"{source} is COPYed but .dockerignore leaves it out"


def test_every_cds_variable_is_a_setting_with_a_valid_value(services, monkeypatch):
    for name in CDS_SERVICES:
        settings = cds_env_settings(services[name]["environment"], monkeypatch)
        assert settings.model_backend == "tfserving"
        assert settings.tfserving_target == "tf-serving:8500"
        assert settings.database_url.startswith("postgresql://cds:")
        assert settings.pseudonym_key is not None


def test_every_bind_mount_exists_and_every_path_setting_is_mounted(services, monkeypatch):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                source = DEPLOY / interpolate(volume["source"])
                assert source.exists(), f"{name}: {volume['source']} does not exist"
    tf_mounts = {m["target"]: m["source"] for m in services["tf-serving"]["volumes"]}
    for name in CDS_SERVICES:
        mounts = {m["target"]: m for m in services[name]["volumes"]}
        settings = cds_env_settings(services[name]["environment"], monkeypatch)
        for variable, path in path_settings(settings).items():
            assert mounted(path, set(mounts)), f"{name}: {variable}={path} is not mounted"
        # The model tier and the services read the same models and models.config.
        for target in (str(settings.model_dir), str(settings.model_config_file)):
            assert mounts[target]["source"] == tf_mounts[target]
            assert mounts[target]["read_only"] is True


@pytest.mark.parametrize("name", CDS_SERVICES)
def test_containers_run_real_commands(services: dict[str, dict], name: str):
    ctx = cds_command(shell_words(services[name]["command"]))
    probe = shell_words(services[name]["healthcheck"]["test"])
    assert probe[:2] == ["CMD", "cds"]
    assert cds_command(probe[2:]).info_name == "probe"
    assert ctx.params.get("host", "0.0.0.0") == "0.0.0.0"


def published(service: dict) -> set[int]:
    return {int(str(p).rsplit(":", 1)[1]) for p in service.get("ports", [])}


def healthcheck_url(service: dict) -> str:
    (url,) = shell_words(service["healthcheck"]["test"])[3:]
    return url


def test_probes_hit_real_routes_and_ports(services: dict[str, dict], monkeypatch):
    hooks = services["cds-hooks"]
    serve = cds_command(shell_words(hooks["command"])).params
    assert serve["no_grpc"] is True
    assert published(hooks) == {serve["port"]}
    url = healthcheck_url(hooks)
    assert url == f"http://127.0.0.1:{serve['port']}/readyz"
    assert "/readyz" in http_routes()

    grpc = services["grpc"]
    port = cds_command(shell_words(grpc["command"])).params["port"]
    assert published(grpc) == {port}
    assert healthcheck_url(grpc) == f"grpc://127.0.0.1:{port}"

    worker = services["worker"]
    settings = cds_env_settings(worker["environment"], monkeypatch)
    assert healthcheck_url(worker) == f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
    assert {serve["port"], port, settings.worker_metrics_port} == exposed_ports()
