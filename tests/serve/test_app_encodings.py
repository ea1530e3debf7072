"""Negotiating the precompressed sidecars listed in the manifest."""

from __future__ import annotations

import gzip

import pytest
from starlette.testclient import TestClient

from tests.serve.helpers import (
    ENCODED,
    SnapshotFolder,
    br,
    etag_of,
    raw_get,
)

# -- content-coding negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip, deflate, br", "br"),
        ("br;q=0.1, gzip;q=1.0", "br"),  # br is preferred whenever it is acceptable
        ("gzip, br;q=0", "gzip"),
        ("x-gzip", "gzip"),
        ("*", "br"),
        ("gzip;q=0, br;q=0", None),
        ("*;q=0", None),
        ("identity", None),
        ("", None),
    ],
)
def test_app_negotiates_precompressed_sidecars(
    client: TestClient, snapshot: SnapshotFolder, accept: str, expected: str | None
) -> None:
    plain = snapshot.documents["routes/B41.json"]
    sidecars = {"br": br(plain), "gzip": (snapshot.release_dir() / "routes/B41.json.gz").read_bytes()}
    status, headers, body = raw_get(client, "/routes/B41.json", {"accept-encoding": accept})
    assert status == 200
    assert headers["vary"] == "Accept-Encoding"
    assert headers.get("content-encoding") == expected
    wanted = plain if expected is None else sidecars[expected]
    assert body == wanted
    assert headers["etag"] == etag_of(wanted)
    assert headers["content-length"] == str(len(wanted))
    if expected == "gzip":
        assert gzip.decompress(body) == plain


def test_app_returns_304_for_sidecar_etag(client: TestClient, snapshot: SnapshotFolder) -> None:
    br_tag = etag_of(br(snapshot.documents["routes.json"]))
    response = client.get("/routes.json", headers={"accept-encoding": "br", "if-none-match": br_tag})
    assert response.status_code == 304
    assert response.headers["etag"] == br_tag
    assert response.headers["vary"] == "Accept-Encoding"
    # The same tag does not validate the plain representation.
    status, _, _ = raw_get(client, "/routes.json", {"accept-encoding": "identity", "if-none-match": br_tag})
    assert status == 200


def test_app_never_serves_sidecar_paths_directly(client: TestClient, snapshot: SnapshotFolder) -> None:
    for encoded in ENCODED:
        for suffix in (".gz", ".br"):
            for prefix in ("", f"/releases/{snapshot.build_id}"):
                response = client.get(f"{prefix}/{encoded}{suffix}")
                assert response.status_code == 404, (prefix, encoded, suffix)
