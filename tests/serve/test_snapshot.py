from __future__ import annotations

import pytest

import serve.snapshot
from serve import SnapshotError
from serve.release import Release
from serve.snapshot import ReleaseStore, build_id_from_target
from tests.serve.helpers import SnapshotFolder, point_current


def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loaded: list[str] = []
    real = serve.snapshot.load_release

    def counting(out_dir: object, build_id: str) -> Release:
        loaded.append(build_id)
        return real(out_dir, build_id)  # type: ignore[arg-type]

    monkeypatch.setattr(serve.snapshot, "load_release", counting)
    return loaded


def test_store_resolves_current_release(snapshot: SnapshotFolder) -> None:
    store = ReleaseStore(out_dir=snapshot.out)
    assert store.current().build_id == snapshot.build_id
    assert store.current().directory == f"{snapshot.release_dir()}/"


def test_store_keeps_two_most_recent_manifests(snapshot: SnapshotFolder) -> None:
    store = ReleaseStore(out_dir=snapshot.out)
    builds = [snapshot.build_id]
    for version in (2, 3):
        builds.append(snapshot.publish({"feed.json": b'{"v":%d}' % version}))
        assert store.current().build_id == builds[-1]
    assert store.cached_build_ids == tuple(builds[-2:])


def test_store_does_not_reparse_when_current_is_unchanged_or_flips_back(
    snapshot: SnapshotFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = snapshot.build_id
    store = ReleaseStore(out_dir=snapshot.out)
    loaded = count_loads(monkeypatch)
    second = snapshot.publish({"feed.json": b"{}"})
    for _ in range(3):
        store.current()
    point_current(snapshot.out, first)  # roll back
    assert store.current().build_id == first
    point_current(snapshot.out, second)
    assert store.current().build_id == second
    assert loaded == [second]


def test_store_falls_back_to_last_good_release_when_publish_is_broken(snapshot: SnapshotFolder) -> None:
    good = snapshot.build_id
    store = ReleaseStore(out_dir=snapshot.out)
    broken = snapshot.publish({"feed.json": b"{}"}, flip=False)
    (snapshot.release_dir(broken) / "manifest.json").unlink()
    point_current(snapshot.out, broken)
    assert store.current().build_id == good
    assert store.health().problem is not None
    (snapshot.out / "current").unlink()
    assert store.current().build_id == good
    assert "cannot read" in (store.health().problem or "")


def test_store_throttles_reloading_a_broken_release(
    snapshot: SnapshotFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReleaseStore(out_dir=snapshot.out, retry_after=3600)
    broken = snapshot.publish({"feed.json": b"{}"}, flip=False)
    (snapshot.release_dir(broken) / "manifest.json").write_bytes(b"[")
    point_current(snapshot.out, broken)
    loaded = count_loads(monkeypatch)
    for _ in range(5):
        store.current()
    assert loaded == [broken]


def test_store_serves_repaired_release_after_retry_interval(snapshot: SnapshotFolder) -> None:
    store = ReleaseStore(out_dir=snapshot.out, retry_after=0)
    manifest = snapshot.manifest_bytes()
    broken = snapshot.publish({"feed.json": b"{}"}, flip=False)
    good_manifest = snapshot.manifest_bytes(broken)
    (snapshot.release_dir(broken) / "manifest.json").write_bytes(b"[")
    point_current(snapshot.out, broken)
    assert store.current().build_id != broken
    (snapshot.release_dir(broken) / "manifest.json").write_bytes(good_manifest)
    assert store.current().build_id == broken
    assert store.health().problem is None
    assert manifest != good_manifest


def test_store_loads_pinned_releases_only_when_published(snapshot: SnapshotFolder) -> None:
    store = ReleaseStore(out_dir=snapshot.out)
    old = snapshot.build_id
    snapshot.publish({"feed.json": b"{}"})
    snapshot.publish({"feed.json": b"[]"})
    pinned = store.pinned(old)
    assert pinned is not None and pinned.build_id == old
    assert store.pinned("0123456789abcdef") is None
    assert store.pinned("../../etc") is None


@pytest.mark.parametrize(
    ("target", "build_id"),
    [
        ("releases/0123abcd", "0123abcd"),
        ("releases/0123abcd/", "0123abcd"),
        ("/srv/out/releases/0123abcd", "0123abcd"),
    ],
)
def test_store_reads_build_id_from_link_target(target: str, build_id: str) -> None:
    assert build_id_from_target(target) == build_id


@pytest.mark.parametrize(
    "target", ["releases/../../etc", "0123abcd", "elsewhere/0123abcd", "releases/XYZ12345"]
)
def test_store_rejects_unexpected_link_targets(target: str) -> None:
    with pytest.raises(SnapshotError):
        build_id_from_target(target)
