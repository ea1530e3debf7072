"""Snapshot folders written by hand, exactly as the publish contract describes them."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import brotli
import orjson
from starlette.applications import Starlette
from starlette.testclient import TestClient

PLAIN = {"accept-encoding": "identity"}
REVALIDATE = "public, max-age=60, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"

SECRET = b"TOP-SECRET-OUTSIDE-THE-SNAPSHOT"

BASE_DOCUMENTS: dict[str, bytes] = {
    "routes/B41.json": b'{"id":"B41","name":"Flatbush Av","stops":["S1","S2"]}',
    "routes/Q~1!x.json": b'{"id":"Q~1!x","name":"odd but legal key"}',
    "stops/S1.json": b'{"id":"S1","name":"Flatbush Av / Nostrand Av"}',
    "trips/T1.json": b'{"id":"T1","route":"B41","stop_times":[["S1","08:00"],["S2","08:05"]]}',
    "routes.json": b'[{"id":"B41"}]',
    "stops.json": b'[{"id":"S1"}]',
    "feed.json": b'{"feed":"test","version":1}',
    "schemas/route.schema.json": b'{"$schema":"https://json-schema.org/draft/2020-12/schema"}',
}
# What each file is served as, by extension, as the builder's manifest entries say it ("media_type").
MEDIA_TYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
# Documents that get precompressed sidecars; the others have no "encodings".
ENCODED = ("routes/B41.json", "routes.json")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def etag_of(body: bytes) -> str:
    return f'"{sha256(body)}"'


def br(data: bytes) -> bytes:
    # Real brotli: httpx decodes br responses when the module is installed (it is a dependency).
    result: bytes = brotli.compress(data)
    return result


def kind_and_id(path: str) -> tuple[str, str]:
    folder, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if folder == "schemas":
        return "schema", stem.removesuffix(".schema")
    if folder:
        return folder.removesuffix("s"), stem
    return stem, stem


def write_release(out: Path, build_id: str, documents: dict[str, bytes], encoded: Iterable[str]) -> Path:
    release = out / "releases" / build_id
    entries = []
    encoded = set(encoded)
    for path, body in documents.items():
        (release / path).parent.mkdir(parents=True, exist_ok=True)
        (release / path).write_bytes(body)
        kind, doc_id = kind_and_id(path)
        entry: dict[str, object] = {
            "path": path,
            "kind": kind,
            "id": doc_id,
            "sha256": sha256(body),
            "bytes": len(body),
            "media_type": MEDIA_TYPES["." + path.rsplit(".", 1)[-1]],
        }
        if path in encoded:
            entry["encodings"] = {
                name: _write_sidecar(release, f"{path}.{suffix}", data)
                for name, suffix, data in (
                    ("gzip", "gz", gzip.compress(body, mtime=0)),
                    ("br", "br", br(body)),
                )
            }
        entries.append(entry)
    (release / "manifest.json").write_bytes(orjson.dumps({"documents": entries}))
    info = {"build_id": build_id, "built_at": "2024-01-01T00:00:00Z"}
    (release / "build-info.json").write_text(json.dumps(info))
    return release


def _write_sidecar(release: Path, path: str, data: bytes) -> dict[str, object]:
    (release / path).write_bytes(data)
    return {"path": path, "sha256": sha256(data), "bytes": len(data)}


def point_current(out: Path, build_id: str) -> None:
    """Flip `current` the way the builder does: a new symlink renamed over the old one."""
    temporary = out / f".current-{build_id}.tmp"
    temporary.unlink(missing_ok=True)
    os.symlink(f"releases/{build_id}", temporary)
    os.replace(temporary, out / "current")


@dataclass
class SnapshotFolder:
    out: Path
    build_id: str = ""
    documents: dict[str, bytes] = field(default_factory=dict)
    encoded: Sequence[str] = ENCODED
    releases: list[str] = field(default_factory=list)

    def publish(self, changes: dict[str, bytes] | None = None, *, flip: bool = True) -> str:
        """Write a new release with `changes` applied to the current documents."""
        documents = {**self.documents, **(changes or {})}
        digest = hashlib.sha256(str(len(self.releases)).encode())  # identical content still differs
        for path, body in sorted(documents.items()):
            digest.update(path.encode() + b"\0" + body + b"\0")
        build_id = digest.hexdigest()[:16]
        write_release(self.out, build_id, documents, self.encoded)
        self.releases.append(build_id)
        if flip:
            point_current(self.out, build_id)
            self.build_id, self.documents = build_id, documents
        return build_id

    def release_dir(self, build_id: str | None = None) -> Path:
        return self.out / "releases" / (build_id or self.build_id)

    def manifest_bytes(self, build_id: str | None = None) -> bytes:
        return (self.release_dir(build_id) / "manifest.json").read_bytes()


@dataclass
class RawResult:
    status: int
    headers: dict[str, str]
    body: bytes


def asgi_request(
    app: Starlette,
    path: str,
    *,
    raw_path: bytes | None = None,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
) -> RawResult:
    """Call the app with a hand-made scope: no client library normalises the path first."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(dict(message))

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")  # type: ignore[misc]
    raw_headers = start["headers"]
    assert isinstance(raw_headers, list)
    status = start["status"]
    assert isinstance(status, int)
    return RawResult(status, {k.decode(): v.decode() for k, v in raw_headers}, body)


def raw_get(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET without httpx decoding Content-Encoding, so sidecar bytes can be compared."""
    with client.stream("GET", path, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())
