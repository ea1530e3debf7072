"""One published release: its manifest (read by builder.release.manifest, shared with the builder) turned into
servable documents."""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from builder.release.manifest import MANIFEST, MANIFEST_MEDIA_TYPE, Entry, ManifestError, parse
from serve.errors import SnapshotError

BUILD_ID = re.compile(r"[0-9a-f]{8,64}")
# Content-codings a manifest may list precompressed sidecars for; others are not negotiated.
ENCODINGS = ("br", "gzip")


# NamedTuples rather than frozen dataclasses: a big manifest holds hundreds of
# thousands of these, and tuple construction is several times cheaper.
class Variant(NamedTuple):
    """One stored representation of a document (plain or precompressed)."""

    path: str  # relative to the release directory, already validated
    etag: str  # quoted strong entity-tag, ready to compare and send
    size: int
    encoding: str | None  # Content-Encoding value; None for the plain file


class Document(NamedTuple):
    identity: Variant
    br: Variant | None = None
    gzip: Variant | None = None
    # the manifest entry's media_type, ready to send
    content_type: bytes = MANIFEST_MEDIA_TYPE.encode("ascii")

    @property
    def has_encodings(self) -> bool:
        return self.br is not None or self.gzip is not None


@dataclass(frozen=True, slots=True)
class Release:
    build_id: str
    directory: str  # ends with a separator so a file path is one concatenation
    documents: dict[str, Document]  # keyed by document path, no leading slash
    document_count: int  # as listed in the manifest (manifest.json itself excluded)


def release_directory(out_dir: Path, build_id: str) -> Path:
    return out_dir / "releases" / build_id


def load_release(out_dir: Path, build_id: str) -> Release:
    """Read and validate `releases/<build_id>/manifest.json`."""
    if not BUILD_ID.fullmatch(build_id):
        raise SnapshotError(f"invalid build id {build_id!r}")
    directory = release_directory(out_dir, build_id)
    manifest_file = directory / MANIFEST
    try:
        raw = manifest_file.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read manifest {manifest_file}: {exc.strerror or exc}") from exc
    with _gc_paused():
        try:
            documents = {e.path: _document(e) for e in parse(raw, str(manifest_file)).entries}
        except ManifestError as exc:
            raise SnapshotError(str(exc)) from exc
    count = len(documents)
    manifest_etag = f'"{hashlib.sha256(raw).hexdigest()}"'
    documents[MANIFEST] = Document(identity=Variant(MANIFEST, manifest_etag, len(raw), None))
    return Release(build_id, os.fspath(directory) + os.sep, documents, count)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building hundreds of thousands of containers triggers collection after
    # collection, each walking the whole parsed manifest: half the load time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _document(entry: Entry) -> Document:
    """The plain file and its br/gzip sidecars, each with the strong ETag its sha256 makes."""
    codings = entry.encodings or {}
    variants = {
        coding: Variant(sidecar.path, f'"{sidecar.sha256}"', sidecar.bytes, coding)
        for coding, sidecar in codings.items()
        if coding in ENCODINGS
    }
    identity = Variant(entry.path, f'"{entry.sha256}"', entry.bytes, None)
    return Document(identity, variants.get("br"), variants.get("gzip"), _content_type(entry.media_type))


@cache
def _content_type(media_type: str) -> bytes:
    # One bytes object per media type, shared by every document of a release.
    return media_type.encode("ascii")
