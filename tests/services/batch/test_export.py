"""The Bulk Data $export client against a stub FHIR server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

from adapters.ndjson import iter_records
from services.batch.export import ExportError, download_manifest, retry_after, run_export

pytestmark = pytest.mark.server
TOKEN = "secret-bulk-token"


class BulkStub(ThreadingHTTPServer):
    """Kick-off → 202; the status answers 202 with Retry-After twice, then the manifest."""

    def __init__(self, cohort: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cohort = cohort
        self.polls = 0
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/fhir"

    def manifest(self) -> dict:
        files = sorted(self.cohort.glob("*.ndjson"))
        return {
            "transactionTime": "2026-01-01T00:00:00Z",
            "request": f"{self.url}/$export",
            "requiresAccessToken": True,
            "output": [
                {"type": p.stem, "url": f"{self.url}/files/{p.name}"}
                for p in files
                if p.stem != "labels"
            ],
            "error": [],
        }


class _Handler(BaseHTTPRequestHandler):
    server: BulkStub

    def do_GET(self) -> None:
        stub = self.server
        stub.seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, b"{}")
        if self.path == "/fhir/$export":
            if self.headers.get("Prefer") != "respond-async":
                return self._send(400, b"{}")
            return self._send(202, b"", {"Content-Location": f"{stub.url}/status/1"})
        if self.path == "/fhir/status/1":
            stub.polls += 1
            if stub.polls < 3:
                return self._send(202, b"", {"Retry-After": "0", "X-Progress": "working"})
            return self._send(200, orjson.dumps(stub.manifest()))
        if self.path.startswith("/fhir/files/"):
            path = stub.cohort / self.path.removeprefix("/fhir/files/")
            return self._send(200, path.read_bytes())
        return self._send(404, b"{}")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def stub(cohort: Path) -> Iterator[BulkStub]:
    server = BulkStub(cohort)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_export_kicks_off_polls_and_downloads_every_file(
    stub: BulkStub, cohort: Path, tmp_path: Path
) -> None:
    folder = run_export(stub.url, tmp_path / "input", token=TOKEN)

    assert stub.polls == 3
    assert all(auth == f"Bearer {TOKEN}" for _path, auth in stub.seen)
    for entry in stub.manifest()["output"]:
        original = cohort / f"{entry['type']}.ndjson"
        assert (folder / f"{entry['type']}.000.ndjson").read_bytes() == original.read_bytes()
    assert sorted(r.key for r in iter_records(folder)) == sorted(
        r.key for r in iter_records(cohort)
    )


def test_a_saved_manifest_is_downloaded(stub: BulkStub, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps(stub.manifest()))
    folder = download_manifest(manifest, tmp_path / "input", token=TOKEN)
    assert {p.name for p in folder.glob("*.ndjson")} == {
        f"{e['type']}.000.ndjson" for e in stub.manifest()["output"]
    }


def test_a_refused_kickoff_is_an_error(stub: BulkStub, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="kick-off answered 401"):
        run_export(stub.url, tmp_path / "input", token="wrong")


def test_retry_after_is_honoured_within_bounds() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(None) == 2.0
    assert retry_after("100000") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
