"""One published release: its manifest parsed into servable documents."""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

from serve.errors import SnapshotError

BUILD_ID = re.compile(r"[0-9a-f]{8,64}")
MANIFEST = "manifest.json"
JSON = b"application/json"
# What an entry without `media_type` is served as, from its extension: releases built before the
# manifest named media types held JSON only; the website's pages (build --site) are HTML, CSS and scripts.
MEDIA_TYPES = {".html": b"text/html; charset=utf-8", ".css": b"text/css; charset=utf-8",
               ".js": b"text/javascript; charset=utf-8", ".geojson": b"application/geo+json"}
_MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+(; ?charset=[a-z0-9-]+)?")
# Content-codings a manifest may list precompressed sidecars for.
ENCODINGS = ("br", "gzip")

# The segment charset alone admits "." and "..": the lookahead keeps those from ever reaching open().
_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._~!-]+"
_DOC_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
# Sidecars are only reachable through negotiation; a manifest listing one as a
# document would make us send compressed bytes labelled as plain JSON.
_SIDECAR_SUFFIXES = (".gz", ".br")


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
    media_type: bytes = JSON  # the Content-Type it is served with

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
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"manifest {manifest_file} is not valid JSON: {exc}") from exc
        documents = _parse_documents(data, str(manifest_file))
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


def _parse_documents(data: object, where: str) -> dict[str, Document]:
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise SnapshotError(f"manifest {where} has no 'documents' list")
    documents: dict[str, Document] = {}
    for index, entry in enumerate(data["documents"]):
        context = f"manifest {where}: documents[{index}]"
        document = _parse_document(entry, context)
        path = document.identity.path
        if path in documents:
            raise SnapshotError(f"{context}: duplicate path {path!r}")
        documents[path] = document
    return documents


def _parse_document(entry: object, context: str) -> Document:
    if not isinstance(entry, dict):
        raise SnapshotError(f"{context}: expected an object")
    identity = _parse_variant(entry, context, None)
    if identity.path.endswith(_SIDECAR_SUFFIXES):
        raise SnapshotError(f"{context}: {identity.path!r} looks like a compressed sidecar")
    encodings = entry.get("encodings")
    if encodings is None:
        encodings = {}
    if not isinstance(encodings, dict):
        raise SnapshotError(f"{context}: 'encodings' must be an object")
    variants: dict[str, Variant] = {}
    for encoding in ENCODINGS:
        if encoding in encodings:
            variants[encoding] = _parse_variant(encodings[encoding], f"{context}.{encoding}", encoding)
    return Document(identity, variants.get("br"), variants.get("gzip"), _media_type(entry, context))


def _media_type(entry: dict[str, object], context: str) -> bytes:
    declared = entry.get("media_type")
    if declared is None:
        path = str(entry["path"])
        return next((t for ext, t in MEDIA_TYPES.items() if path.endswith(ext)), JSON)
    if not isinstance(declared, str) or not _MEDIA_TYPE.fullmatch(declared):
        raise SnapshotError(f"{context}: 'media_type' must be a media type such as application/json")
    return declared.encode("ascii")


def _parse_variant(entry: object, context: str, encoding: str | None) -> Variant:
    if not isinstance(entry, dict):
        raise SnapshotError(f"{context}: expected an object")
    path, sha, size = entry.get("path"), entry.get("sha256"), entry.get("bytes")
    if not isinstance(path, str) or not _DOC_PATH.fullmatch(path):
        raise SnapshotError(f"{context}: unsafe or missing path {path!r}")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise SnapshotError(f"{context}: 'sha256' must be 64 hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise SnapshotError(f"{context}: 'bytes' must be a non-negative integer")
    return Variant(path, f'"{sha}"', size, encoding)
