"""Serving documents from `current`: bodies, validators, errors and methods."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from serve import create_app
from serve.endpoint import ENTRY_OVERHEAD
from tests.serve.helpers import (
    PLAIN,
    REVALIDATE,
    SnapshotFolder,
    etag_of,
    point_current,
)

# -- serving documents -------------------------------------------------------------------------------


def test_app_serves_document_with_strong_etag(client: TestClient, snapshot: SnapshotFolder) -> None:
    body = snapshot.documents["stops/S1.json"]
    response = client.get("/stops/S1.json", headers=PLAIN)
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["etag"] == etag_of(body)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["cache-control"] == REVALIDATE
    assert response.headers["accept-ranges"] == "none"
    assert "vary" not in response.headers
    assert "content-encoding" not in response.headers


def test_app_sends_each_documents_media_type_from_the_manifest(
    client: TestClient, snapshot: SnapshotFolder
) -> None:
    snapshot.encoded = ("routes/B41.geojson",)
    snapshot.publish(
        {
            "routes/B41.geojson": b'{"type":"FeatureCollection","features":[]}',
            "index.html": b"<!doctype html><title>B41</title>",
        }
    )
    for path, media_type in (
        ("routes/B41.geojson", "application/geo+json"),
        ("index.html", "text/html; charset=utf-8"),
        ("routes.json", "application/json"),
    ):
        for accept in ("identity", "gzip"):
            response = client.get(f"/{path}", headers={"accept-encoding": accept})
            assert (response.status_code, response.headers["content-type"]) == (200, media_type), (
                path,
                accept,
            )
    gzipped = client.get("/routes/B41.geojson", headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"


def test_app_serves_every_listed_document_byte_for_byte(client: TestClient, snapshot: SnapshotFolder) -> None:
    for path, body in snapshot.documents.items():
        response = client.get(f"/{path}", headers=PLAIN)
        assert (response.status_code, response.content) == (200, body), path
        assert response.headers["etag"] == etag_of(body), path


def test_app_answers_head_with_get_headers_and_no_body(client: TestClient, snapshot: SnapshotFolder) -> None:
    got = client.get("/trips/T1.json", headers=PLAIN)
    head = client.head("/trips/T1.json", headers=PLAIN)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == got.headers
    assert head.headers["content-length"] == str(len(snapshot.documents["trips/T1.json"]))


def test_app_serves_manifest_with_etag_of_its_bytes(client: TestClient, snapshot: SnapshotFolder) -> None:
    manifest = snapshot.manifest_bytes()
    response = client.get("/manifest.json", headers=PLAIN)
    assert response.status_code == 200
    assert response.content == manifest
    assert response.headers["etag"] == etag_of(manifest)
    assert response.headers["cache-control"] == REVALIDATE


def test_app_uses_configured_max_age(snapshot: SnapshotFolder) -> None:
    with TestClient(create_app(out_dir=snapshot.out, max_age=5)) as client:
        response = client.get("/feed.json")
    assert response.headers["cache-control"] == "public, max-age=5, must-revalidate"


# -- conditional requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("{etag}", id="strong"),
        pytest.param("W/{etag}", id="weak"),
        pytest.param('"0000", W/"1111",{etag} ', id="list"),
        pytest.param("*", id="star"),
    ],
)
def test_app_returns_304_for_matching_if_none_match(
    client: TestClient, snapshot: SnapshotFolder, header: str
) -> None:
    etag = etag_of(snapshot.documents["feed.json"])
    response = client.get("/feed.json", headers={"if-none-match": header.format(etag=etag), **PLAIN})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == REVALIDATE


def test_app_returns_304_for_weak_if_none_match(client: TestClient, snapshot: SnapshotFolder) -> None:
    etag = etag_of(snapshot.documents["routes.json"])
    response = client.get("/routes.json", headers={"if-none-match": f"W/{etag}", **PLAIN})
    assert response.status_code == 304


def test_app_returns_200_for_stale_if_none_match(client: TestClient, snapshot: SnapshotFolder) -> None:
    stale = etag_of(b"an older version")
    response = client.get("/feed.json", headers={"if-none-match": f"{stale}, W/{stale}", **PLAIN})
    assert response.status_code == 200
    assert response.content == snapshot.documents["feed.json"]


# -- health, errors, methods -------------------------------------------------------------------------


def test_app_healthz_reports_current_build(client: TestClient, snapshot: SnapshotFolder) -> None:
    for _ in range(2):
        client.get("/feed.json")
    response = client.get("/healthz")
    assert response.status_code == 200
    feed_bytes = len(snapshot.documents["feed.json"]) + ENTRY_OVERHEAD
    assert response.json() == {
        "status": "ok",
        "build_id": snapshot.build_id,
        "documents": len(snapshot.documents),
        "cache": {"entries": 1, "bytes": feed_bytes, "budget": 64 * 2**20, "hits": 1, "misses": 1},
    }


def test_app_keeps_serving_last_good_release_when_publish_is_broken(
    client: TestClient, snapshot: SnapshotFolder
) -> None:
    good_build, good_feed = snapshot.build_id, snapshot.documents["feed.json"]
    broken = snapshot.publish({"feed.json": b'{"feed":"broken"}'}, flip=False)
    (snapshot.release_dir(broken) / "manifest.json").write_bytes(b"{not json")
    point_current(snapshot.out, broken)
    assert client.get("/feed.json", headers=PLAIN).content == good_feed
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["build_id"] == good_build
    assert "not valid JSON" in health.json()["problem"]


def test_app_returns_json_404_for_unknown_path(client: TestClient) -> None:
    response = client.get("/routes/NOPE.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not found", "path": "/routes/NOPE.json"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_app_rejects_post_with_405_and_allow(client: TestClient, method: str) -> None:
    for path in ("/feed.json", "/healthz", "/nope"):
        response = client.request(method, path)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"] == "method not allowed"


# -- ranges and memory -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "range_header",
    ["bytes=0-1", "bytes=-5", "bytes=" + ",".join(f"{i}-{i}" for i in range(2000)), "bytes=garbage"],
)
def test_app_ignores_range_header(client: TestClient, snapshot: SnapshotFolder, range_header: str) -> None:
    response = client.get("/trips/T1.json", headers={"range": range_header, **PLAIN})
    assert response.status_code == 200
    assert response.content == snapshot.documents["trips/T1.json"]
    assert response.headers["accept-ranges"] == "none"
    assert "content-range" not in response.headers
