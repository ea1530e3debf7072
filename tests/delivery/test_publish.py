"""`transit-snapshot publish` against a real S3-compatible server on loopback (moto's standalone server)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from builder.errors import PublishError
from builder.release.manifest import read
from builder.release.publish import PublishReport, PublishSettings, publish
from tests.conftest import SAMPLE_FEED
from tests.delivery.servers import CLI, changed_sample_feed, free_port, import_and_build, running
from tests.snapshot_checks import MEDIA_TYPES

MOTO = Path(sys.executable).parent / "moto_server"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
REVALIDATE = "public, max-age=60, must-revalidate"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with running([os.fspath(MOTO), "-H", "127.0.0.1", "-p", str(port)], port, log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@dataclass
class Bucket:
    name: str
    client: Any
    endpoint: str

    def url(self, prefix: str = "snap") -> str:
        return f"s3://{self.name}/{prefix}"

    def paths(self, prefix: str = "snap/") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return {o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", [])}

    def publish(self, out: Path, prefix: str = "snap") -> PublishReport:
        return publish(PublishSettings(out_dir=out, to=self.url(prefix), endpoint_url=self.endpoint))


@pytest.fixture
def bucket(endpoint: str) -> Bucket:
    client = boto3.client("s3", endpoint_url=endpoint)
    name = f"transit-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client, endpoint)


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two output folders: the sample feed, and a changed copy (stops renamed, MILL gone)."""
    root = tmp_path_factory.mktemp("releases")
    a, b = root / "a", root / "b"
    import_and_build(SAMPLE_FEED, root / "a.sqlite", a, "--compress", "gzip,br")
    import_and_build(changed_sample_feed(root / "changed"), root / "b.sqlite", b, "--compress", "gzip,br")
    return a, b


def listed(out: Path) -> dict[str, tuple[str, str | None, str]]:
    """path -> (sha256, Content-Encoding, media type) of every document and sidecar of the current release."""
    objects: dict[str, tuple[str, str | None, str]] = {}
    for entry in read(out / "current").entries:
        objects[entry.path] = (entry.sha256, None, entry.media_type)
        for coding, sidecar in (entry.encodings or {}).items():
            objects[sidecar.path] = (sidecar.sha256, coding, entry.media_type)
    return objects


def test_publish_uploads_every_document_with_its_headers(
    bucket: Bucket, two_releases: tuple[Path, Path]
) -> None:
    out = two_releases[0]
    objects = listed(out)
    # GeoJSON, sidecars too
    assert {"stops.geojson", "stops.geojson.gz", "routes/F1.geojson.br"} <= set(objects)
    report = bucket.publish(out)
    assert (report.uploaded, report.unchanged, report.deleted) == (len(objects) + 1, 0, 0)
    assert bucket.paths() == set(objects) | {"manifest.json"}
    for path, (sha, coding, media_type) in objects.items():
        got = bucket.client.get_object(Bucket=bucket.name, Key=f"snap/{path}")
        assert got["Body"].read() == (out / "current" / path).read_bytes(), path
        document = path.removesuffix(".gz").removesuffix(".br")
        assert got["ContentType"] == media_type == MEDIA_TYPES["." + document.rsplit(".", 1)[-1]], path
        assert got["CacheControl"] == REVALIDATE
        assert got.get("ContentEncoding") == coding, path
        assert got["Metadata"]["sha256"] == sha
    manifest = bucket.client.get_object(Bucket=bucket.name, Key="snap/manifest.json")["Body"].read()
    assert manifest == (out / "current" / "manifest.json").read_bytes()


def test_publish_same_release_twice_uploads_nothing(bucket: Bucket, two_releases: tuple[Path, Path]) -> None:
    out = two_releases[0]
    bucket.publish(out)
    report = bucket.publish(out)
    assert (report.uploaded, report.unchanged, report.deleted) == (0, len(listed(out)), 0)


def test_publish_new_release_uploads_changed_and_deletes_gone(
    bucket: Bucket, two_releases: tuple[Path, Path]
) -> None:
    a, b = two_releases
    old, new = listed(a), listed(b)
    bucket.publish(a)
    report = bucket.publish(b)
    changed = {p for p, (sha, *_) in new.items() if old.get(p, (None,))[0] != sha}
    gone = set(old) - set(new)
    assert "stops/MILL.json" in gone and "stops/MILL.json.br" in gone
    assert 0 < len(changed) < len(new), "the two releases should share some documents"
    assert (report.uploaded, report.unchanged, report.deleted) == (
        len(changed) + 1,
        len(new) - len(changed),
        len(gone),
    )
    assert bucket.paths() == set(new) | {"manifest.json"}
    manifest = bucket.client.get_object(Bucket=bucket.name, Key="snap/manifest.json")["Body"].read()
    assert manifest == (b / "current" / "manifest.json").read_bytes()


def test_publish_interrupted_leaves_old_manifest_and_next_publish_repairs(
    bucket: Bucket, two_releases: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_releases
    bucket.publish(a)
    broken = tmp_path / "broken"
    os.makedirs(broken / "releases")
    release = (b / "current").resolve()
    os.symlink(release, broken / "releases" / release.name)  # every file of b...
    os.symlink(Path("releases") / release.name, broken / "current")
    hidden = tmp_path / "hidden"
    os.makedirs(hidden)
    # ... but one that sorts late can no longer be read: the publish fails halfway through.
    victim = max(listed(b))
    os.rename(release / victim, hidden / "victim")
    try:
        with pytest.raises(PublishError, match="cannot read"):
            bucket.publish(broken)
    finally:
        os.rename(hidden / "victim", release / victim)
    assert ".publish-pending.json" in bucket.paths()
    # Readers still see release a: its manifest was never replaced.
    manifest = bucket.client.get_object(Bucket=bucket.name, Key="snap/manifest.json")["Body"].read()
    assert manifest == (a / "current" / "manifest.json").read_bytes()
    # Going back to a must undo what the failed publish overwrote (the bucket's manifest alone would
    # say nothing changed), and leave no pending marker.
    report = bucket.publish(a)
    assert report.uploaded > 1
    assert bucket.paths() == set(listed(a)) | {"manifest.json"}
    for path in listed(a):
        got = bucket.client.get_object(Bucket=bucket.name, Key=f"snap/{path}")["Body"].read()
        assert got == (a / "current" / path).read_bytes(), path
    assert bucket.publish(a).uploaded == 0


def test_publish_clears_a_pending_marker_of_the_same_release(
    bucket: Bucket, two_releases: tuple[Path, Path]
) -> None:
    out = two_releases[0]
    bucket.publish(out)
    # As left by a publish of this release that died between its deletions and removing the marker.
    manifest = (out / "current" / "manifest.json").read_bytes()
    bucket.client.put_object(Bucket=bucket.name, Key="snap/.publish-pending.json", Body=manifest)
    report = bucket.publish(out)
    assert (report.uploaded, report.deleted) == (0, 0)
    assert bucket.paths() == set(listed(out)) | {"manifest.json"}


def test_publish_cli_reports_counts(bucket: Bucket, two_releases: tuple[Path, Path]) -> None:
    command = [
        CLI,
        "publish",
        "--out",
        os.fspath(two_releases[0]),
        "--to",
        f"s3://{bucket.name}/cli/",
        "--endpoint-url",
        bucket.endpoint,
    ]
    env = {**os.environ, **CREDENTIALS}
    first = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    assert f"{len(listed(two_releases[0])) + 1} uploaded, 0 unchanged, 0 deleted" in first.stdout
    second = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    assert "0 uploaded" in second.stdout
    assert bucket.paths("cli/") == set(listed(two_releases[0])) | {"manifest.json"}


def test_publish_reports_a_missing_bucket_clearly(endpoint: str, two_releases: tuple[Path, Path]) -> None:
    command = [
        CLI,
        "publish",
        "--out",
        os.fspath(two_releases[0]),
        "--to",
        "s3://no-such-bucket-here/x",
        "--endpoint-url",
        endpoint,
    ]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, env={**os.environ, **CREDENTIALS}
    )
    assert done.returncode == PublishError.exit_code
    assert "no-such-bucket-here" in done.stderr and "Traceback" not in done.stderr


def test_publish_refuses_a_target_that_is_not_s3(two_releases: tuple[Path, Path]) -> None:
    with pytest.raises(PublishError, match="s3://"):
        publish(PublishSettings(out_dir=two_releases[0], to="https://example.com/x"))
