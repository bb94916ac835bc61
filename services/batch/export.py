"""FHIR Bulk Data (v2) ``$export`` client: kick off, poll, download.

Kick-off ``GET [base]/$export`` with ``Prefer: respond-async`` answers 202 and a
``Content-Location`` to poll; polling answers 202 (with ``Retry-After``, which
is honoured) until the export is ready, then 200 with the status manifest whose
``output`` lists one or more NDJSON files per resource type. Files are streamed
to disk as ``<type>.<n>.ndjson``, the names the NDJSON reader groups by.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import orjson

from services.batch.jobs import write_atomic

DEFAULT_WAIT_S = 2.0  # between polls when the server gives no Retry-After
MAX_WAIT_S = 120.0  # never sleep longer than this between polls


class ExportError(RuntimeError):
    """The export could not be started, failed on the server, or a file could not be read."""


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def run_export(
    base_url: str, target: Path, *, token: str | None, timeout_s: float = 24 * 3600
) -> Path:
    """Run a system-level ``$export`` on ``base_url``, download its files into ``target``."""
    fhir_json = {"Accept": "application/fhir+json", **_auth(token)}
    with httpx.Client(timeout=60) as client:
        kickoff = client.get(
            base_url.rstrip("/") + "/$export", headers={**fhir_json, "Prefer": "respond-async"}
        )
        if kickoff.status_code != 202 or "Content-Location" not in kickoff.headers:
            raise ExportError(f"kick-off answered {kickoff.status_code}{_outcome(kickoff)}")
        status_url = kickoff.headers["Content-Location"]
        give_up = time.monotonic() + timeout_s
        while True:
            status = client.get(status_url, headers=fhir_json)
            if status.status_code == 200:
                manifest = status.json()
                break
            if status.status_code != 202:
                raise ExportError(f"status answered {status.status_code}{_outcome(status)}")
            if time.monotonic() > give_up:
                raise ExportError(f"not ready after {timeout_s:.0f} s")
            time.sleep(retry_after(status.headers.get("Retry-After")))
        write_atomic(target / "manifest.json", orjson.dumps(manifest))
        return _download(client, manifest, target, token)


def download_manifest(manifest_file: Path, target: Path, *, token: str | None) -> Path:
    """Download the files a saved ``$export`` status manifest lists into ``target``."""
    try:
        manifest = orjson.loads(manifest_file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ExportError(f"{manifest_file.name} is not JSON: {exc}") from None
    if type(manifest) is not dict or type(manifest.get("output")) is not list:
        raise ExportError(f"{manifest_file.name} is not a $export status manifest (no output)")
    with httpx.Client(timeout=60) as client:
        return _download(client, manifest, target, token)


def retry_after(value: str | None) -> float:
    """Seconds to wait for a ``Retry-After`` (seconds or an HTTP date), within bounds."""
    if not value:
        return DEFAULT_WAIT_S
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return DEFAULT_WAIT_S
    return min(max(seconds, 0.0), MAX_WAIT_S)


def _download(client: httpx.Client, manifest: dict, target: Path, token: str | None) -> Path:
    """Stream each listed file to ``<type>.<n>.ndjson`` (a temporary name, then renamed)."""
    target.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    headers = {"Accept": "application/fhir+ndjson"}
    if manifest.get("requiresAccessToken", True):
        headers.update(_auth(token))
    for entry in manifest["output"]:
        rtype, url = entry.get("type"), entry.get("url")
        if not (isinstance(rtype, str) and rtype.isalpha() and isinstance(url, str)):
            raise ExportError("a manifest output entry lacks a resource type or url")
        n = counts[rtype] = counts.get(rtype, -1) + 1
        path = target / f"{rtype}.{n:03d}.ndjson"
        part = path.with_suffix(".part")
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise ExportError(f"{rtype} file {n} answered {response.status_code}")
            with part.open("wb") as fh:
                for block in response.iter_bytes(1 << 20):
                    fh.write(block)
        part.replace(path)
    return target


def _outcome(response: httpx.Response) -> str:
    """The first OperationOutcome diagnostics of an error answer, if any."""
    try:
        issue = response.json()["issue"][0]
        return f": {issue.get('diagnostics') or issue.get('code')}"
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
