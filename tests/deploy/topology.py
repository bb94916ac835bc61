"""What the deploy tests read: the Dockerfile, compose file and manifests, and what
they must agree with in the code (settings, CLI commands, HTTP routes)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import click
import pytest
import yaml

from services.settings import Settings
from tests.processes import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
IMAGE = "precision-cds:0.1.0"
CDS_SERVICES = ("cds-hooks", "grpc", "worker")  # the containers running our image
NON_ROOT_UID = 65532

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """A compose value as `docker compose` would see it with only the required
    variables set: defaults applied, required ones replaced by a sample."""
    return _INTERPOLATION.sub(
        lambda m: m.group(3) if m.group(2) == "-" else f"sample-{m.group(1).lower()}", value
    )


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def manifests() -> list[tuple[str, dict]]:
    """Every Kubernetes object in deploy/k8s, with the file it is in."""
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
    ]


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def cds_env_settings(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a container with ``env`` gets; fails on a ``CDS_`` name that is no
    setting (Settings itself ignores unknown names) or a value a setting refuses."""
    cds = {name: value for name, value in env.items() if name.startswith("CDS_")}
    unknown = {name[4:].lower() for name in cds} - set(Settings.model_fields)
    assert not unknown, f"not settings: {sorted(unknown)}"
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"CDS_{name.upper()}", raising=False)
    for name, value in cds.items():
        monkeypatch.setenv(name, interpolate(str(value)))
    return Settings()


def cds_command(args: list[str], *, resilient: bool = False) -> click.Context:
    """A ``cds`` command line parsed as the CLI parses it, without running it.

    ``resilient``: a value that does not convert (an input path that exists only in
    the container) becomes ``None`` instead of an error; unknown options still fail.
    """
    from services.cli import main

    name, *rest = args
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"no command `cds {name}`"
    return command.make_context(name, rest, resilient_parsing=resilient)


def shell_words(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else list(value)


@cache
def http_routes() -> frozenset[str]:
    """The paths the HTTP API serves, as its OpenAPI document lists them (included
    routers too, which ``app.routes`` does not flatten)."""
    from services.cds_hooks import create_app

    return frozenset(create_app(Settings()).openapi()["paths"])


def exposed_ports() -> set[int]:
    return {
        int(port.split("/")[0])
        for instruction, args in dockerfile()
        if instruction == "EXPOSE"
        for port in args.split()
    }


def path_settings(settings: Settings) -> dict[str, Path]:
    """The file and folder settings that are set, by variable name."""
    return {
        f"CDS_{name.upper()}": value
        for name, value in settings
        if isinstance(value, Path) and name in settings.model_fields_set
    }


def mounted(path: Path, mount_points: set[str]) -> bool:
    return any(path.is_relative_to(point) for point in mount_points)
