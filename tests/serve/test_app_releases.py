"""Following `current` across publishes, pinned releases, and start-up checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from serve import SnapshotError, create_app
from tests.serve.helpers import (
    IMMUTABLE,
    PLAIN,
    SnapshotFolder,
    asgi_request,
    etag_of,
    point_current,
)

# -- following `current` -----------------------------------------------------------------------------


def test_app_follows_new_current_without_restart(client: TestClient, snapshot: SnapshotFolder) -> None:
    first = client.get("/feed.json", headers=PLAIN)
    new_feed = b'{"feed":"test","version":2}'
    new_build = snapshot.publish({"feed.json": new_feed})
    second = client.get("/feed.json", headers=PLAIN)
    assert first.content != second.content
    assert second.content == new_feed
    assert second.headers["etag"] == etag_of(new_feed)
    assert client.get("/healthz").json()["build_id"] == new_build


def test_app_keeps_etag_of_unchanged_documents_across_releases(
    client: TestClient, snapshot: SnapshotFolder
) -> None:
    old_stop_tag = client.get("/stops/S1.json", headers=PLAIN).headers["etag"]
    old_feed_tag = client.get("/feed.json", headers=PLAIN).headers["etag"]
    snapshot.publish({"feed.json": b'{"feed":"test","version":2}'})
    assert client.get("/stops/S1.json", headers={"if-none-match": old_stop_tag, **PLAIN}).status_code == 304
    assert client.get("/feed.json", headers={"if-none-match": old_feed_tag, **PLAIN}).status_code == 200


def test_app_reads_from_resolved_release_when_current_flips_mid_request(
    snapshot: SnapshotFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_build = snapshot.build_id
    snapshot.publish({"feed.json": b'{"feed":"test","version":2}'})
    app = create_app(out_dir=snapshot.out, cache_bytes=0)
    releases = {first_build: snapshot.release_dir(first_build), snapshot.build_id: snapshot.release_dir()}
    real_readlink = os.readlink

    def readlink_then_flip(path: str | os.PathLike[str]) -> str:
        # Whatever `current` says now, a publish lands right after we looked.
        target = real_readlink(path)
        other = next(build for build in releases if not target.endswith(build))
        point_current(snapshot.out, other)
        return target

    monkeypatch.setattr(os, "readlink", readlink_then_flip)
    for _ in range(4):
        result = asgi_request(app, "/feed.json")
        assert result.status == 200
        assert result.headers["etag"] == etag_of(result.body)


def test_app_retries_once_when_release_is_pruned_mid_request(
    snapshot: SnapshotFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_build = snapshot.build_id
    app = create_app(out_dir=snapshot.out, cache_bytes=0)
    assert asgi_request(app, "/feed.json").status == 200
    new_feed = b'{"feed":"test","version":2}'
    snapshot.publish({"feed.json": new_feed})
    shutil.rmtree(snapshot.release_dir(old_build))
    real_readlink = os.readlink
    stale = [f"releases/{old_build}"]
    # The first resolution still sees the old release, as if it ran just before the flip.
    monkeypatch.setattr(os, "readlink", lambda path: stale.pop() if stale else real_readlink(path))
    result = asgi_request(app, "/feed.json")
    assert not stale
    assert (result.status, result.body) == (200, new_feed)


def test_app_returns_404_when_listed_file_is_missing(snapshot: SnapshotFolder) -> None:
    app = create_app(out_dir=snapshot.out)
    (snapshot.release_dir() / "stops/S1.json").unlink()
    result = asgi_request(app, "/stops/S1.json")
    assert result.status == 404
    assert result.headers["content-type"] == "application/json"


# -- pinned releases ---------------------------------------------------------------------------------


def test_app_serves_pinned_release_as_immutable(client: TestClient, snapshot: SnapshotFolder) -> None:
    body = snapshot.documents["trips/T1.json"]
    response = client.get(f"/releases/{snapshot.build_id}/trips/T1.json", headers=PLAIN)
    assert (response.status_code, response.content) == (200, body)
    assert response.headers["etag"] == etag_of(body)
    assert response.headers["cache-control"] == IMMUTABLE


def test_app_serves_previous_release_pinned_after_publish(
    client: TestClient, snapshot: SnapshotFolder
) -> None:
    old_build, old_feed = snapshot.build_id, snapshot.documents["feed.json"]
    snapshot.publish({"feed.json": b'{"feed":"test","version":2}'})
    snapshot.publish({"feed.json": b'{"feed":"test","version":3}'})
    response = client.get(f"/releases/{old_build}/feed.json", headers=PLAIN)
    assert (response.status_code, response.content) == (200, old_feed)
    manifest = client.get(f"/releases/{old_build}/manifest.json", headers=PLAIN)
    assert manifest.content == snapshot.manifest_bytes(old_build)


@pytest.mark.parametrize(
    "path",
    [
        "/releases/0123456789abcdef/feed.json",  # well-formed id, never published
        "/releases/NOT-A-BUILD/feed.json",
        "/releases/{build}/build-info.json",  # in the release folder, not in the manifest
        "/releases/{build}/",
        "/releases/{build}",
        "/releases/",
    ],
)
def test_app_returns_404_for_unpublished_pinned_paths(
    client: TestClient, snapshot: SnapshotFolder, path: str
) -> None:
    response = client.get(path.format(build=snapshot.build_id))
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


# -- start-up ----------------------------------------------------------------------------------------


def _remove_current(snapshot: SnapshotFolder) -> None:
    (snapshot.out / "current").unlink()


def _break_manifest(snapshot: SnapshotFolder) -> None:
    (snapshot.release_dir() / "manifest.json").write_bytes(b'{"documents": [')


def _drop_manifest(snapshot: SnapshotFolder) -> None:
    (snapshot.release_dir() / "manifest.json").unlink()


def _dangle_current(snapshot: SnapshotFolder) -> None:
    shutil.rmtree(snapshot.release_dir())


def _current_is_a_directory(snapshot: SnapshotFolder) -> None:
    _remove_current(snapshot)
    (snapshot.out / "current").mkdir()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_remove_current, "no snapshot published in"),
        (_break_manifest, "not valid JSON"),
        (_drop_manifest, "cannot read manifest"),
        (_dangle_current, "cannot read manifest"),
        (_current_is_a_directory, "is not a symlink"),
    ],
)
def test_app_start_fails_loudly_without_current(
    snapshot: SnapshotFolder, damage: Callable[[SnapshotFolder], None], message: str
) -> None:
    damage(snapshot)
    with pytest.raises(SnapshotError, match=message):
        create_app(out_dir=snapshot.out)


def test_app_start_fails_loudly_without_out_dir(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        create_app(out_dir=tmp_path / "missing")


def test_app_start_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="run `transit-snapshot build` first"):
        create_app(out_dir=tmp_path)


def test_app_rejects_negative_settings(snapshot: SnapshotFolder) -> None:
    with pytest.raises(ValueError):
        create_app(out_dir=snapshot.out, cache_bytes=-1)
    with pytest.raises(ValueError):
        create_app(out_dir=snapshot.out, max_age=-1)


def test_app_serves_with_application_state_exposed(app: Starlette) -> None:
    assert app.state.releases.cached_build_ids
