"""`transit-snapshot serve` as a real uvicorn process over a snapshot the real builder made: the HTTP
behaviour the README promises, request by request."""

from __future__ import annotations

import gzip
import hashlib
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from tests.delivery.conftest import Built
from tests.delivery.servers import fetch, serving
from tests.serve.test_uvicorn import HOSTILE_TARGETS, exchange

MAX_AGE = 120
REVALIDATE = f"public, max-age={MAX_AGE}, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"
SAMPLE = [
    "feed.json",
    "routes.json",
    "stops.json",
    "routes/B41.json",
    "routes/L~c3~ad!n~204~20!S~c3~bc!d.json",
    "stops/H!bf~2f!G!leis~201.json",
    "schemas/route.schema.json",
]
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def port(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(built.out, log, "--max-age", str(MAX_AGE)) as server_port:
        yield server_port


def quoted(sha: str) -> str:
    return f'"{sha}"'


@pytest.mark.parametrize("path", SAMPLE)
def test_serve_returns_document_bytes_with_manifest_etag(port: int, built: Built, path: str) -> None:
    entry = built.entries[path]
    reply = fetch(port, f"/{path}", PLAIN)
    assert reply.status == 200
    assert reply.body == (built.release / path).read_bytes()
    assert hashlib.sha256(reply.body).hexdigest() == entry.sha256
    assert reply.headers["etag"] == quoted(entry.sha256)
    assert reply.headers["content-type"] == entry.media_type == "application/json"
    assert reply.headers["content-length"] == str(entry.bytes)
    assert reply.headers["cache-control"] == REVALIDATE
    assert reply.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in reply.headers


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("routes/F1.geojson", "application/geo+json"),
        ("stops.geojson", "application/geo+json"),
        ("timetables/F1.json", "application/json"),
    ],
)
def test_serve_sends_maps_and_timetables_with_their_media_type_etag_and_sidecars(
    port: int, built: Built, path: str, media_type: str
) -> None:
    entry = built.entries[path]
    plain = fetch(port, f"/{path}", PLAIN)
    assert (plain.status, plain.body) == (200, (built.release / path).read_bytes())
    assert (plain.headers["content-type"], plain.headers["etag"]) == (media_type, quoted(entry.sha256))
    gzipped = fetch(port, f"/{path}", {"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzip.decompress(gzipped.body) == plain.body
    assert gzipped.headers["content-type"] == media_type
    assert gzipped.headers["etag"] == quoted((entry.encodings or {})["gzip"].sha256)
    assert fetch(port, f"/{path}", {**PLAIN, "If-None-Match": quoted(entry.sha256)}).status == 304


def test_serve_head_has_the_headers_of_get_and_no_body(port: int) -> None:
    for accept in ("identity", "gzip", "br"):
        get = fetch(port, "/routes.json", {"Accept-Encoding": accept})
        head = fetch(port, "/routes.json", {"Accept-Encoding": accept}, method="HEAD")
        assert head.status == 200 and head.body == b""
        drop = {"date"}
        assert {k: v for k, v in head.headers.items() if k not in drop} == {
            k: v for k, v in get.headers.items() if k not in drop
        }


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_serve_refuses_other_methods_with_405_and_allow(port: int, method: str) -> None:
    reply = fetch(port, "/routes.json", method=method)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_serve_sends_precompressed_sidecar_for_accept_encoding(port: int, built: Built, coding: str) -> None:
    decompress = gzip.decompress if coding == "gzip" else brotli.decompress
    for path in SAMPLE:
        sidecar = (built.entries[path].encodings or {})[coding]
        reply = fetch(port, f"/{path}", {"Accept-Encoding": coding})
        assert reply.status == 200
        assert reply.headers["content-encoding"] == coding
        assert reply.headers["vary"] == "Accept-Encoding"
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["etag"] == quoted(sidecar.sha256)
        assert reply.body == (built.release / sidecar.path).read_bytes()
        assert decompress(reply.body) == (built.release / path).read_bytes()


def test_serve_never_serves_a_sidecar_as_plain_json(port: int, built: Built) -> None:
    for path in SAMPLE:
        for suffix in (".gz", ".br"):
            assert fetch(port, f"/{path}{suffix}").status == 404
            assert fetch(port, f"/releases/{built.build_id}/{path}{suffix}").status == 404


@pytest.mark.parametrize("form", ["strong", "weak", "list", "star"])
def test_serve_if_none_match_gives_304_with_etag_and_cache_control(
    port: int, built: Built, form: str
) -> None:
    tag = quoted(built.entries["routes.json"].sha256)
    header = {"strong": tag, "weak": f"W/{tag}", "list": f'"nope", W/"other", {tag}', "star": "*"}[form]
    reply = fetch(port, "/routes.json", {**PLAIN, "If-None-Match": header})
    assert reply.status == 304 and reply.body == b""
    assert reply.headers["etag"] == tag
    assert reply.headers["cache-control"] == REVALIDATE
    assert reply.headers["vary"] == "Accept-Encoding"


def test_serve_stale_etag_gives_200(port: int, built: Built) -> None:
    stale = quoted("0" * 64)
    reply = fetch(port, "/routes.json", {**PLAIN, "If-None-Match": stale})
    assert reply.status == 200 and reply.body == (built.release / "routes.json").read_bytes()


def test_serve_pinned_release_urls_are_immutable(port: int, built: Built) -> None:
    reply = fetch(port, f"/releases/{built.build_id}/routes/B41.json", PLAIN)
    assert reply.status == 200
    assert reply.body == (built.release / "routes/B41.json").read_bytes()
    assert reply.headers["cache-control"] == IMMUTABLE
    tag = reply.headers["etag"]
    not_modified = fetch(port, f"/releases/{built.build_id}/routes/B41.json", {**PLAIN, "If-None-Match": tag})
    assert not_modified.status == 304 and not_modified.headers["cache-control"] == IMMUTABLE
    assert fetch(port, "/releases/0123456789abcdef/routes/B41.json").status == 404


def test_serve_ignores_range_and_says_so(port: int, built: Built) -> None:
    reply = fetch(port, "/routes.json", {**PLAIN, "Range": "bytes=0-9"})
    assert reply.status == 200 and reply.body == (built.release / "routes.json").read_bytes()
    assert reply.headers["accept-ranges"] == "none"
    assert "content-range" not in reply.headers


def test_serve_thousands_of_ranges_cost_no_more_than_one(port: int, built: Built) -> None:
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(2000))  # ~17 KB of ranges in one header
    one = "bytes=0-0"

    def median_seconds(ranges: str) -> float:
        times = []
        for _ in range(30):
            started = time.perf_counter()
            reply = fetch(port, "/routes.json", {**PLAIN, "Range": ranges})
            times.append(time.perf_counter() - started)
            assert reply.status == 200 and "content-range" not in reply.headers
        return statistics.median(times)

    median_seconds(one)  # warm the cache and the connection path
    # Generous bound: a quadratic range parser would take seconds here, not milliseconds.
    assert median_seconds(many) < 3 * median_seconds(one) + 0.005


def test_serve_hostile_request_targets_get_4xx(port: int, built: Built, tmp_path: Path) -> None:
    outside = built.out.parent / "secret.json"
    outside.write_bytes(b"TOP-SECRET-OUTSIDE-THE-SNAPSHOT")
    for target in [
        *HOSTILE_TARGETS,
        b"/current/../../secret.json",
        b"/releases/../../secret.json",
        b"/%2e%2e%2fsecret.json",
        b"/..%2f..%2fsecret.json",
        b"/%c0%ae%c0%ae/secret.json",
        b"/\\\\server\\share\\secret.json",
        b"/C:/Windows/win.ini",
        b"/build-info.json",
        b"/routes.json%00.gz",
    ]:
        status, response = exchange(port, target)
        assert 400 <= status < 500, (target[:60], response[:200])
        assert b"TOP-SECRET" not in response and b"root:" not in response
    missing = fetch(port, "/routes/NOPE.json")
    assert missing.status == 404 and missing.headers["content-type"] == "application/json"
