"""The body cache: bounded by bytes, never holding the whole snapshot."""

from __future__ import annotations

from starlette.testclient import TestClient

from serve import create_app
from serve.endpoint import INLINE_READ_LIMIT
from tests.serve.helpers import (
    ENCODED,
    PLAIN,
    SnapshotFolder,
    etag_of,
)


def test_app_does_not_cache_bodies_over_an_eighth_of_budget(snapshot: SnapshotFolder) -> None:
    big = b'{"stops":[' + b",".join(b'"S%d"' % i for i in range(3000)) + b"]}"
    snapshot.publish({"stops.json": big})
    app = create_app(out_dir=snapshot.out, cache_bytes=64 * 1024)
    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/stops.json", headers=PLAIN).content == big
        assert client.get("/feed.json", headers=PLAIN).status_code == 200
    cache = app.state.cache
    assert (snapshot.build_id, "stops.json", None) not in cache
    assert (snapshot.build_id, "feed.json", None) in cache


def test_app_cache_stays_within_byte_budget(snapshot: SnapshotFolder) -> None:
    budget = 6 * 1024  # room for about ten of the twelve representations
    app = create_app(out_dir=snapshot.out, cache_bytes=budget)
    with TestClient(app) as client:
        for accept in ("identity", "gzip", "br"):
            for path in snapshot.documents:
                assert client.get(f"/{path}", headers={"accept-encoding": accept}).status_code == 200
    cache = app.state.cache
    assert 0 < cache.total_bytes <= budget
    assert 0 < len(cache) < len(snapshot.documents) + 2 * len(ENCODED)


def test_app_serves_large_documents_read_off_the_event_loop(snapshot: SnapshotFolder) -> None:
    huge = b'{"trips":"' + b"x" * (INLINE_READ_LIMIT * 2) + b'"}'
    snapshot.publish({"trips/T1.json": huge})
    with TestClient(create_app(out_dir=snapshot.out)) as client:
        for _ in range(2):  # second time from the cache
            response = client.get("/trips/T1.json", headers=PLAIN)
            assert (response.status_code, response.content) == (200, huge)
            assert response.headers["etag"] == etag_of(huge)
