"""Serving a release with the website (build --site): pages with their media types, `/` as index.html."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from serve import create_app
from tests.serve.helpers import PLAIN, SnapshotFolder, point_current

SITE = {
    "index.html": b"<!doctype html><title>Routes</title>",
    "routes/B41.html": b"<!doctype html><title>B41</title>",
    "site/site.css": b"body{margin:0}",
    "site/site.js": b"'use strict';",
}


def test_app_sends_each_site_file_with_its_media_type(snapshot: SnapshotFolder) -> None:
    snapshot.publish(SITE)
    with TestClient(create_app(out_dir=snapshot.out)) as client:
        for path, media_type in (
            ("index.html", "text/html; charset=utf-8"),
            ("routes/B41.html", "text/html; charset=utf-8"),
            ("site/site.css", "text/css; charset=utf-8"),
            ("site/site.js", "text/javascript; charset=utf-8"),
            ("routes/B41.json", "application/json"),
        ):
            response = client.get(f"/{path}", headers=PLAIN)
            assert response.status_code == 200
            assert response.headers["content-type"] == media_type, path
            assert response.content == snapshot.documents[path]


def test_app_answers_root_with_the_home_page(snapshot: SnapshotFolder) -> None:
    snapshot.publish(SITE)
    with TestClient(create_app(out_dir=snapshot.out)) as client:
        response = client.get("/", headers=PLAIN)
        assert response.status_code == 200
        assert response.content == SITE["index.html"]
        assert response.headers["etag"] == client.get("/index.html", headers=PLAIN).headers["etag"]
        # pinned releases keep their documents' own URLs only, as nginx does
        assert client.get(f"/releases/{snapshot.build_id}/").status_code == 404


def test_app_answers_root_with_404_without_a_site(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 404
    assert response.json() == {"error": "not found", "path": "/"}


def test_app_sends_the_media_type_the_manifest_names(snapshot: SnapshotFolder) -> None:
    snapshot.publish({"routes/B41.geojson": b'{"type":"FeatureCollection","features":[]}'})
    release = snapshot.release_dir()
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    for entry in manifest["documents"]:
        if entry["path"] == "routes/B41.json":
            entry["media_type"] = "application/vnd.example+json"
    (release / "manifest.json").write_bytes(orjson.dumps(manifest))
    point_current(snapshot.out, snapshot.build_id)
    with TestClient(create_app(out_dir=snapshot.out)) as client:
        assert client.get("/routes/B41.json").headers["content-type"] == "application/vnd.example+json"
        assert client.get("/routes/B41.geojson").headers["content-type"] == "application/geo+json"
