"""`publish()`: copy the current release to S3-compatible object storage, changed documents only.

Order keeps readers consistent: documents first, `manifest.json` last, then documents that are gone
from the release are deleted. What the bucket already holds is known from the previously published
manifest (one GET), and every object also carries its sha256 in `x-amz-meta-sha256`; S3's own ETag is
not used, since it is not a content hash for multipart uploads.

A publish that dies midway leaves `PREFIX/.publish-pending.json` (the manifest being published and the
keys it meant to delete). The next publish then checks, by HEAD, every key that pending publish may
have overwritten, and deletes what either release left behind.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from builder.errors import PublishError
from builder.release.manifest import MANIFEST, MANIFEST_MEDIA_TYPE, Manifest, ManifestError, from_json, parse
from builder.release.output import OutputLayout

PENDING = ".publish-pending.json"
MISSING = ("404", "NoSuchKey", "NotFound")  # error codes S3-compatible stores use for "no such key"
UPLOAD_THREADS = 16
DELETE_BATCH = 1000  # S3's limit per DeleteObjects request


@dataclass(frozen=True)
class PublishSettings:
    out_dir: Path
    to: str  # s3://BUCKET/PREFIX
    endpoint_url: str | None = None  # MinIO, R2, GCS interop, a local test server...
    max_age: int = 60  # Cache-Control max-age of every object (they change on publish)


@dataclass(frozen=True)
class PublishReport:
    build_id: str
    uploaded: int
    unchanged: int
    deleted: int


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str  # "" or ends with "/"

    def key(self, path: str) -> str:
        return self.prefix + path


@dataclass(frozen=True)
class LocalObject:
    path: str  # relative to the release folder, also the key below the prefix
    sha256: str
    encoding: str | None  # Content-Encoding of a precompressed sidecar
    media_type: str  # Content-Type: the document's, for its sidecars too


def parse_target(url: str) -> Target:
    if not url.startswith("s3://"):
        raise PublishError(f"--to must look like s3://BUCKET/PREFIX, got {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise PublishError(f"--to {url!r} names no bucket")
    prefix = prefix.strip("/")
    return Target(bucket, prefix + "/" if prefix else "")


def publish(settings: PublishSettings) -> PublishReport:
    target = parse_target(settings.to)
    release, build_id = current_release(settings.out_dir)
    manifest = (release / MANIFEST).read_bytes()
    try:
        listed = parse(manifest, str(release / MANIFEST))
    except ManifestError as exc:
        raise PublishError(str(exc)) from exc
    store = Store(settings, target)
    try:
        return sync(store, release, build_id, manifest, listed)
    except store.errors as exc:
        raise PublishError(f"publishing to {settings.to} failed: {exc}") from exc


def current_release(out_dir: Path) -> tuple[Path, str]:
    layout = OutputLayout(out_dir)
    build_id = layout.current_build_id()
    if build_id is None or not (layout.release(build_id) / MANIFEST).is_file():
        raise PublishError(f"no snapshot published in {out_dir}: run `transit-snapshot build` first")
    return layout.release(build_id), build_id


def release_objects(listed: Manifest) -> dict[str, LocalObject]:
    """Every document and sidecar the manifest lists, by path."""
    return {
        path: LocalObject(path, sha, coding, media_type)
        for path, (sha, _, coding, media_type) in listed.files().items()
    }


def sync(store: Store, release: Path, build_id: str, manifest: bytes, listed: Manifest) -> PublishReport:
    objects = release_objects(listed)
    published_bytes = store.get(MANIFEST)
    published, pending = parse_json(published_bytes), parse_json(store.get(PENDING))
    held = held_hashes(store, objects, published, pending)
    changed = [o for o in objects.values() if held.get(o.path) != o.sha256]
    manifest_changed = published_bytes != manifest
    gone = sorted(leftover_paths(published, pending) - objects.keys() - {MANIFEST})
    if not changed and not manifest_changed and not gone:
        if pending is not None:
            store.delete([PENDING])  # a publish of this release died after its last deletion
        return PublishReport(build_id, 0, len(objects), 0)
    store.put_json(PENDING, {"documents": [e.as_json() for e in listed.entries], "delete": gone})
    store.upload_all(release, changed)
    store.upload(
        release, LocalObject(MANIFEST, hashlib.sha256(manifest).hexdigest(), None, MANIFEST_MEDIA_TYPE)
    )
    store.delete(gone)
    store.delete([PENDING])
    uploaded = len(changed) + 1
    return PublishReport(build_id, uploaded, len(objects) - len(changed), len(gone))


def parse_json(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        loaded = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None  # not ours or damaged: treated as absent, so everything is checked and sent again
    return loaded if isinstance(loaded, dict) and isinstance(loaded.get("documents"), list) else None


def manifest_hashes(manifest: dict[str, Any] | None) -> dict[str, str]:
    if manifest is None:
        return {}
    try:
        listed = from_json(manifest, "in the bucket")
    except ManifestError:
        return {}  # not ours or damaged: as if absent, so everything is sent again
    return {path: sha for path, (sha, *_) in listed.files().items()}


def held_hashes(
    store: Store,
    objects: dict[str, LocalObject],
    published: dict[str, Any] | None,
    pending: dict[str, Any] | None,
) -> dict[str, str]:
    """What the bucket holds for each path, as sha256: from the published manifest, and by HEAD
    for every path an interrupted publish may have overwritten."""
    held = manifest_hashes(published)
    for path, sha in manifest_hashes(pending).items():
        if path in objects and held.get(path) != sha:
            found = store.head_sha(path)
            if found is None:
                held.pop(path, None)
            else:
                held[path] = found
    return held


def leftover_paths(published: dict[str, Any] | None, pending: dict[str, Any] | None) -> set[str]:
    paths = set(manifest_hashes(published)) | set(manifest_hashes(pending))
    if pending is not None:
        paths |= set(pending.get("delete", []))
    return paths


class Store:
    """The bucket below one prefix, through boto3."""

    def __init__(self, settings: PublishSettings, target: Target) -> None:
        import boto3
        import botocore.exceptions

        self.errors: tuple[type[Exception], ...] = (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
        )
        self._client = boto3.client("s3", endpoint_url=settings.endpoint_url)
        self._target = target
        self._cache_control = f"public, max-age={settings.max_age}, must-revalidate"

    def get(self, path: str) -> bytes | None:
        """The object's bytes; None when there is no such object."""
        try:
            answer = self._client.get_object(Bucket=self._target.bucket, Key=self._target.key(path))
        except self.errors[1] as exc:
            if _error_code(exc) in MISSING:
                return None
            raise
        data: bytes = answer["Body"].read()
        return data

    def head_sha(self, path: str) -> str | None:
        try:
            head = self._client.head_object(Bucket=self._target.bucket, Key=self._target.key(path))
        except self.errors[1] as exc:
            if _error_code(exc) in MISSING:
                return None
            raise
        sha: str | None = head.get("Metadata", {}).get("sha256")
        return sha

    def upload_all(self, release: Path, objects: list[LocalObject]) -> None:
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for _ in pool.map(lambda o: self.upload(release, o), objects):
                pass

    def upload(self, release: Path, obj: LocalObject) -> None:
        extra = {"ContentEncoding": obj.encoding} if obj.encoding else {}
        try:
            body = (release / obj.path).read_bytes()
        except OSError as exc:
            raise PublishError(f"cannot read {release / obj.path}: {exc.strerror or exc}") from exc
        self._client.put_object(
            Bucket=self._target.bucket,
            Key=self._target.key(obj.path),
            Body=body,
            ContentType=obj.media_type,
            CacheControl=self._cache_control,
            Metadata={"sha256": obj.sha256},
            **extra,
        )

    def put_json(self, path: str, value: Any) -> None:
        self._client.put_object(
            Bucket=self._target.bucket,
            Key=self._target.key(path),
            Body=orjson.dumps(value),
            ContentType=MANIFEST_MEDIA_TYPE,
            CacheControl="no-store",
        )

    def delete(self, paths: list[str]) -> None:
        for start in range(0, len(paths), DELETE_BATCH):
            batch = [{"Key": self._target.key(p)} for p in paths[start : start + DELETE_BATCH]]
            answer = self._client.delete_objects(
                Bucket=self._target.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise PublishError(f"cannot delete {first.get('Key')}: {first.get('Message')}")


def _error_code(exc: Exception) -> str | None:
    code: str | None = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code
