"""The body cache: bounded by bytes, never holding the whole snapshot, and no cliff past its budget."""

from __future__ import annotations

from starlette.testclient import TestClient

from serve import create_app
from serve.endpoint import ENTRY_OVERHEAD, INLINE_READ_LIMIT
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


def trip_documents(count: int, size: int) -> dict[str, bytes]:
    """`count` trip documents of exactly `size` bytes each."""
    documents = {}
    for i in range(count):
        head = b'{"id":"T%d","pad":"' % i
        documents[f"trips/T{i}.json"] = head + b"x" * (size - len(head) - 2) + b'"}'
    return documents


def cache_stats(client: TestClient) -> dict[str, int]:
    stats: dict[str, int] = client.get("/healthz").json()["cache"]
    return stats


def test_app_cyclic_requests_over_the_budget_are_partly_served_from_memory(snapshot: SnapshotFolder) -> None:
    # An LRU serves none of a cycle longer than it holds: each document leaves just before its turn.
    documents = trip_documents(40, 1000)
    snapshot.publish(documents)
    budget = 20 * (1000 + ENTRY_OVERHEAD)  # half the cycle
    with TestClient(create_app(out_dir=snapshot.out, cache_bytes=budget)) as client:
        for _ in range(4):
            for path, body in documents.items():
                assert client.get(f"/{path}", headers=PLAIN).content == body
        before = cache_stats(client)
        for path in documents:
            client.get(f"/{path}", headers=PLAIN)
        after = cache_stats(client)
    assert after["hits"] - before["hits"] >= 0.35 * len(documents)
    assert after["bytes"] <= budget


def test_app_hot_documents_survive_a_one_time_scan(snapshot: SnapshotFolder) -> None:
    documents = trip_documents(200, 1000)
    snapshot.publish(documents)
    hot, scan = list(documents)[:10], list(documents)[10:]
    budget = 20 * (1000 + ENTRY_OVERHEAD)
    with TestClient(create_app(out_dir=snapshot.out, cache_bytes=budget)) as client:
        for _ in range(3):
            for path in hot:
                client.get(f"/{path}", headers=PLAIN)
        for path in scan:  # a crawler walking every trip once
            assert client.get(f"/{path}", headers=PLAIN).content == documents[path]
        before = cache_stats(client)
        for path in hot:
            assert client.get(f"/{path}", headers=PLAIN).content == documents[path]
        after = cache_stats(client)
    assert after["hits"] - before["hits"] == len(hot)


def test_app_serves_a_file_as_it_is_on_disk_when_its_size_disagrees_with_the_manifest(
    snapshot: SnapshotFolder,
) -> None:
    # The manifest's size saves an fstat per request; a hand-edited file must still go out whole,
    # as nginx would send it, never cut at the size the manifest remembers.
    grown = b'{"feed":"test","version":1,"note":"' + b"n" * 5000 + b'"}'
    (snapshot.release_dir() / "feed.json").write_bytes(grown)
    (snapshot.release_dir() / "stops.json").write_bytes(b"[]")
    with TestClient(create_app(out_dir=snapshot.out, cache_bytes=0)) as client:
        assert client.get("/feed.json", headers=PLAIN).content == grown
        assert client.get("/stops.json", headers=PLAIN).content == b"[]"
