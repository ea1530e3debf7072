"""manifest.json, read and written in one place: the builder, bundle/verify, diff, publish, serve and the
tests all go through Manifest and Entry.

    {"documents": [{"path": "routes/B41.json", "kind": "route", "id": "B41", "media_type": "application/json",
                    "sha256": "<64 hex>", "bytes": 2891,
                    "encodings": {"gzip": {"path": "routes/B41.json.gz", "sha256": ..., "bytes": ...}}}, ...]}

Entries are sorted by path and written with sorted keys, so the same documents give the same bytes (the
build id is a hash of them). `encodings` is present only with `build --compress`. `media_type` is what
the document is served as (Content-Type); manifests written before it existed list only JSON documents,
so an entry without it reads as application/json. Reading validates everything a consumer relies on
(safe relative paths, 64-hex sha256, sizes) and raises ManifestError naming the manifest and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from builder.errors import BuildError
from builder.snapshot.kinds import JSON

MANIFEST = "manifest.json"
MANIFEST_MEDIA_TYPE = JSON
LEGACY_MEDIA_TYPE = JSON  # entries of manifests older than the media_type field
# A document path: safe relative segments; the lookahead keeps "." and ".." out.
_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._~!-]+"
_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
# Suffixes of precompressed sidecars (builder.release.compress); a document listed under one would be sent as
# compressed bytes labelled with its media type.
SIDECAR_SUFFIXES = (".gz", ".br")


class ManifestError(BuildError):
    """A manifest that cannot be read or is not a snapshot manifest; the message says where and why."""


class Encoded(NamedTuple):
    """A precompressed sidecar of a document."""

    path: str
    sha256: str
    bytes: int


# NamedTuples: a large manifest holds hundreds of thousands of entries, and serve parses it on publish.
class Entry(NamedTuple):
    path: str
    kind: str
    id: str | None
    sha256: str
    bytes: int
    media_type: str = JSON
    encodings: dict[str, Encoded] | None = None  # content-coding -> sidecar

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "id": self.id,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "media_type": self.media_type,
        }
        if self.encodings is not None:
            entry["encodings"] = {coding: e._asdict() for coding, e in self.encodings.items()}
        return entry

    def files(self) -> Iterator[tuple[str, str, int, str | None]]:
        """(path, sha256, bytes, content-coding) of the document, then of each of its sidecars."""
        yield self.path, self.sha256, self.bytes, None
        for coding, sidecar in (self.encodings or {}).items():
            yield sidecar.path, sidecar.sha256, sidecar.bytes, coding


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> Manifest:
        return cls(tuple(sorted(entries, key=lambda e: e.path)))

    def to_bytes(self) -> bytes:
        return orjson.dumps({"documents": [e.as_json() for e in self.entries]}, option=orjson.OPT_SORT_KEYS)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    def files(self) -> dict[str, tuple[str, int, str | None, str]]:
        """Every file the manifest lists, sidecars included: path -> (sha256, bytes, coding, media type)."""
        return {
            path: (sha, size, coding, e.media_type)
            for e in self.entries
            for path, sha, size, coding in e.files()
        }


def read(path: Path) -> Manifest:
    """The manifest of a release folder, or a manifest.json file itself."""
    file = path / MANIFEST if path.is_dir() else path
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"no manifest at {file}: give a release folder or a manifest.json") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {file}: {exc.strerror or exc}") from exc
    return parse(raw, str(file))


_HEAD, _TAIL, _BETWEEN = b'{"documents":[', b"]}", b"},{"
STREAM_BLOCK = 1 << 20


def stream(path: Path) -> Iterator[Entry]:
    """The entries of a release's manifest.json one at a time, validated as `read` does, holding one
    block of the file: for a manifest as the builder writes it (compact, sorted by path, which is also
    how duplicates are refused here). Anything else raises ManifestError: a diff must not parse a
    region's manifest whole to describe the release replacing it."""
    file = path / MANIFEST if path.is_dir() else path
    where, previous, index = str(file), "", 0
    try:
        with file.open("rb") as raw:
            if raw.read(len(_HEAD)) != _HEAD:
                raise ManifestError(f"manifest {where} is not in the compact form the builder writes")
            for item in _items(raw, where):
                context = f"manifest {where}: documents[{index}]"
                entry = _entry(item, context)
                if entry.path <= previous:
                    raise ManifestError(f"{context}: {entry.path!r} is not after {previous!r} (unsorted)")
                previous, index = entry.path, index + 1
                yield entry
    except FileNotFoundError:
        raise ManifestError(f"no manifest at {file}: give a release folder or a manifest.json") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {file}: {exc.strerror or exc}") from exc


def _items(raw: Any, where: str) -> Iterator[object]:
    """The objects of the documents list, the file read a block at a time. They are cut at `},{`; one
    such cut inside a string (an id may hold anything) leaves an unterminated string, which does not
    parse, so the cut moves on to the next one."""
    buffer, start, search, ended = b"", 0, 0, False
    while True:
        cut = buffer.find(_BETWEEN, search)
        if cut < 0:
            if ended:
                break
            block = raw.read(STREAM_BLOCK)
            ended = not block
            buffer, search, start = buffer[start:] + block, search - start, 0
            continue
        try:
            item = orjson.loads(buffer[start : cut + 1])
        except orjson.JSONDecodeError:
            search = cut + 1
            continue
        yield item
        start = search = cut + 2
    buffer = buffer[start:]
    if buffer == _TAIL:  # no documents at all
        return
    if not buffer.endswith(_TAIL):
        raise ManifestError(f"manifest {where} does not end its documents list")
    try:
        yield orjson.loads(buffer[: -len(_TAIL)])
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"manifest {where} is not valid JSON: {exc}") from exc


def parse(raw: bytes, where: str) -> Manifest:
    """Validate and read manifest bytes; `where` names them in errors. Duplicate paths are refused."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"manifest {where} is not valid JSON: {exc}") from exc
    return from_json(data, where)


def from_json(data: object, where: str) -> Manifest:
    """A manifest already decoded from JSON (e.g. inside publish's pending marker)."""
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ManifestError(f"manifest {where} has no 'documents' list")
    entries, seen = [], set()
    for index, item in enumerate(data["documents"]):
        context = f"manifest {where}: documents[{index}]"
        entry = _entry(item, context)
        if entry.path in seen:
            raise ManifestError(f"{context}: duplicate path {entry.path!r}")
        seen.add(entry.path)
        entries.append(entry)
    return Manifest(tuple(entries))


def _entry(item: object, context: str) -> Entry:
    if not isinstance(item, dict):
        raise ManifestError(f"{context}: expected an object")
    path, sha, size = _file(item, context)
    if path.endswith(SIDECAR_SUFFIXES):
        raise ManifestError(f"{context}: {path!r} looks like a compressed sidecar")
    kind, id_, media_type = item.get("kind"), item.get("id"), item.get("media_type", LEGACY_MEDIA_TYPE)
    if not isinstance(kind, str) or not kind:
        raise ManifestError(f"{context}: 'kind' must be a non-empty string")
    if id_ is not None and not isinstance(id_, str):
        raise ManifestError(f"{context}: 'id' must be a string or null")
    if not isinstance(media_type, str) or not media_type.isascii() or not media_type.isprintable():
        raise ManifestError(f"{context}: 'media_type' must be a printable ASCII string")
    codings = item.get("encodings")
    if codings is not None and not isinstance(codings, dict):
        raise ManifestError(f"{context}: 'encodings' must be an object")
    encodings = (
        None
        if codings is None
        else {
            str(coding): Encoded(*_file(sidecar, f"{context}.{coding}"))
            for coding, sidecar in codings.items()
        }
    )
    return Entry(path, kind, id_, sha, size, media_type, encodings)


def _file(item: object, context: str) -> tuple[str, str, int]:
    if not isinstance(item, dict):
        raise ManifestError(f"{context}: expected an object")
    path, sha, size = item.get("path"), item.get("sha256"), item.get("bytes")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ManifestError(f"{context}: unsafe or missing path {path!r}")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise ManifestError(f"{context}: 'sha256' must be 64 hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{context}: 'bytes' must be a non-negative integer")
    return path, sha, size
