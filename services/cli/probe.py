"""``cds probe``: a health check for container healthchecks (the images have no curl)."""

from __future__ import annotations

from urllib.parse import urlsplit

import click


@click.command()
@click.argument("url")
@click.option("--timeout", default=3.0, show_default=True, help="Seconds before giving up.")
def probe(url: str, timeout: float) -> None:
    """Exit 0 when URL is healthy, else print why and exit 1.

    URL is ``http://HOST:PORT/PATH`` (healthy: a 2xx answer) or ``grpc://HOST:PORT``
    (healthy: grpc.health.v1 says the gRPC API is SERVING; plaintext only).
    """
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        healthy, detail = _http(url, timeout)
    elif parts.scheme == "grpc" and parts.port is not None:
        healthy, detail = _grpc(parts.netloc, timeout)
    else:
        raise click.BadParameter("expected http(s)://HOST:PORT/PATH or grpc://HOST:PORT")
    if not healthy:
        raise click.ClickException(f"{url}: {detail}")


def _http(url: str, timeout: float) -> tuple[bool, str]:
    import httpx

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return response.is_success, f"HTTP {response.status_code}"


def _grpc(target: str, timeout: float) -> tuple[bool, str]:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from services.grpc_api.server import SERVICE_NAME

    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=timeout
            )
        except grpc.RpcError as exc:
            return False, exc.code().name
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return answer.status == health_pb2.HealthCheckResponse.SERVING, status
