"""The output folder: where releases are written, how one is published, and who may write.

    OUT/
      current -> releases/<build-id>      the published snapshot (a relative symlink, swapped atomically)
      releases/<build-id>/                complete, immutable releases
      releases/.tmp-<pid>-<random>/       a build in progress; never visible under its final name until done
      releases/.tmp-<pid>-<random>-pin/   the database file a build reads, pinned (builder.snapshot.pinning)
      .lock                               held (flock) by the one build (or rollback) allowed at a time
      history                             published build ids, oldest first (rollback's order)

One object, OutputLayout, owns these paths; nothing else joins path strings under OUT.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import secrets
import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from builder.errors import LockedError, io_error
from builder.release.compress import sidecars
from builder.release.entries import EntryLog
from builder.release.manifest import Encoded, Entry
from builder.snapshot.kinds import DocumentKind, folders

DUMP_OPTIONS = orjson.OPT_SORT_KEYS
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
WRITEV_PIECES = 512  # pieces per writev call, well under IOV_MAX (1024 on Linux)


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @property
    def history_file(self) -> Path:
        return self.root / "history"

    def release(self, build_id: str) -> Path:
        return self.releases / build_id

    def release_ids(self) -> list[str]:
        """Complete releases on disk (staging and folders being deleted start with a dot)."""
        if not self.releases.is_dir():
            return []
        return sorted(p.name for p in self.releases.iterdir() if not p.name.startswith(".") and p.is_dir())

    def current_build_id(self) -> str | None:
        try:
            return Path(os.readlink(self.current)).name
        except (FileNotFoundError, OSError):
            return None

    def new_staging(self) -> Path:
        self.releases.mkdir(parents=True, exist_ok=True)
        staging = self.releases / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
        for folder in folders():  # every kind's folder, from the registry (builder.snapshot.kinds)
            (staging / folder).mkdir()
        return staging

    def new_scratch(self) -> Path:
        """A folder of the build's own, removed with the staging folders if the build dies."""
        self.releases.mkdir(parents=True, exist_ok=True)
        scratch = self.releases / f".tmp-{os.getpid()}-{secrets.token_hex(4)}-pin"
        scratch.mkdir()
        return scratch

    def remove_stale_staging(self) -> int:
        """Partial releases of builds that died (the caller holds the lock, so none is in progress)."""
        if not self.releases.is_dir():
            return 0
        stale = [p for p in self.releases.iterdir() if p.name.startswith(".tmp-")]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return len(stale)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One build per output folder. flock dies with its process, so a killed build leaves no stale lock."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise io_error(exc, "cannot open the lock file", self.lock_file) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockedError(f"another build is running on {self.root} (it holds {self.lock_file})")
            yield
        finally:
            os.close(fd)


@dataclass(frozen=True)
class Streamed:
    """A document too large to hold whole: `head` and `tail` hold every key but `key`, whose value is a
    JSON array whose items arrive one by one as finished JSON. Written, it is byte for byte what orjson
    writes for the whole dict (keys sorted, no spaces), so `key` must sort after every key of `head` and
    before every key of `tail`."""

    head: dict[str, Any]
    key: str
    items: Iterable[bytes]
    tail: dict[str, Any] = field(default_factory=dict)  # keys sorting after `key` (GeoJSON's "type")

    def __post_init__(self) -> None:
        if any(k >= self.key for k in self.head) or any(k <= self.key for k in self.tail):
            raise ValueError(f"{self.key!r} must sort after every key of head and before every key of tail")

    def pieces(self) -> Iterator[bytes]:
        head = orjson.dumps(self.head, option=DUMP_OPTIONS)
        yield head[:-1] + (b"," if self.head else b"") + orjson.dumps(self.key) + b":["
        comma = b""
        for item in self.items:
            yield comma
            yield item
            comma = b","
        yield b"]" + (b"," + orjson.dumps(self.tail, option=DUMP_OPTIONS)[1:] if self.tail else b"}")


@dataclass(frozen=True)
class Assembled:
    """A document already serialized by its maker, in pieces that joined are what orjson writes for it."""

    parts: list[bytes]

    def pieces(self) -> Iterator[bytes]:
        return iter(self.parts)


@dataclass(frozen=True)
class Raw:
    """A document made of bytes already (a page, a stylesheet), written piece by piece as they come."""

    chunks: Iterable[bytes]

    def pieces(self) -> Iterable[bytes]:
        return self.chunks


class DocumentWriter:
    """Writes documents into a staging folder and remembers each one's manifest entry.

    With `compress` (content-codings, see builder.release.compress) each document also gets its precompressed
    sidecars, listed in its entry under `encodings`; without it the output is exactly the plain files.
    """

    def __init__(
        self,
        staging: Path,
        compress: tuple[str, ...] = (),
        scratch: Path | None = None,
        log: EntryLog | None = None,
    ) -> None:
        self.staging = staging
        self.compress = compress
        # With `scratch` (a folder on the staging folder's filesystem), each file is written there under
        # a name of this writer's own, then renamed into place: a task retried elsewhere, or a worker
        # the cluster gave up on but which still runs, never leaves a torn file under a document's name.
        self.scratch = scratch
        self._temporary = f"{os.getpid()}-{secrets.token_hex(6)}-" if scratch is not None else ""
        # the manifest entries: on disk in a build (EntryLog.under(staging)), in memory by default
        self.log = log or EntryLog()
        self.documents = 0
        self.bytes_written = 0

    @property
    def entries(self) -> list[Entry]:
        """The entries written so far, sorted by path (read back from disk for a log that spills)."""
        return list(self.log.entries())

    def write(self, kind: DocumentKind, id_: str | None, doc: Any) -> None:
        """Write one document of `kind` where the registry places it, and remember its manifest entry."""
        path, digest, encodings = kind.path(id_), hashlib.sha256(), None
        if isinstance(doc, Streamed | Assembled | Raw) and not self.compress:
            size = self._write(path, doc.pieces(), digest)
        else:
            # Sidecars compress whole documents, so with --compress a streamed one is joined first.
            data = (
                b"".join(doc.pieces())
                if isinstance(doc, Streamed | Assembled | Raw)
                else orjson.dumps(doc, option=DUMP_OPTIONS)
            )
            size = self._write(path, [data], digest)
            if self.compress:
                encodings = self._write_sidecars(path, data)
        self.log.add(
            Entry(
                path, kind.name, kind.manifest_id(id_), digest.hexdigest(), size, kind.media_type, encodings
            )
        )
        self.documents += 1

    def _write_sidecars(self, path: str, data: bytes) -> dict[str, Encoded]:
        encodings = {}
        for coding, sidecar_path, sidecar in sidecars(path, data, self.compress):
            self._write(sidecar_path, [sidecar])
            encodings[coding] = Encoded(sidecar_path, hashlib.sha256(sidecar).hexdigest(), len(sidecar))
        return encodings

    def _write(self, path: str, pieces: Iterable[bytes], digest: Any = None) -> int:
        """Writes one file from its pieces, a writev of up to WRITEV_PIECES at a time, feeding `digest`
        as it goes; returns its size. os.open/os.writev: three system calls for a whole document, where
        open() adds fstat, ioctl and a buffer object."""
        target, size = f"{self.staging}/{path}", 0
        written = target if self.scratch is None else f"{self.scratch}/{self._temporary}{self.documents}"
        try:
            try:
                fd = os.open(written, WRITE_FLAGS, 0o644)
            except FileNotFoundError:  # the first document of a nested folder (departures/<date>/)
                if written != target:
                    raise  # the scratch folder is gone: the build that owned it has ended
                os.makedirs(os.path.dirname(target), exist_ok=True)
                fd = os.open(target, WRITE_FLAGS, 0o644)
            try:
                batch: list[bytes] = []
                for piece in pieces:
                    if digest is not None:
                        digest.update(piece)
                    batch.append(piece)
                    if len(batch) == WRITEV_PIECES:
                        size += _write_all(fd, batch)
                        batch = []
                size += _write_all(fd, batch)
            finally:
                os.close(fd)
            if written != target:
                _rename_into(written, target)
        except OSError as exc:
            raise io_error(exc, "cannot write", Path(target)) from exc
        self.bytes_written += size
        return size


def _rename_into(written: str, target: str) -> None:
    try:
        os.rename(written, target)
    except FileNotFoundError:  # the first document of a nested folder
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(written, target)


def _write_all(fd: int, pieces: list[bytes]) -> int:
    total = sum(map(len, pieces))
    written = os.writev(fd, pieces) if pieces else 0
    if written < total:  # a short write: finish it from the joined rest
        view = memoryview(b"".join(pieces))[written:]
        while view:
            view = view[os.write(fd, view) :]
    return total


def build_id_of(manifest_sha256: str) -> str:
    # The release is named by its content: the same database gives the same id, so an unchanged
    # rebuild is recognised and nothing new is published.
    return manifest_sha256[:16]


def finish_release(layout: OutputLayout, staging: Path, build_id: str, build_info: dict[str, Any]) -> bool:
    """Make the staging folder the release `build_id`; False when that release already exists."""
    (staging / "build-info.json").write_bytes(
        orjson.dumps(build_info, option=DUMP_OPTIONS | orjson.OPT_INDENT_2)
    )
    final = layout.release(build_id)
    if final.exists():
        shutil.rmtree(staging)
        return False
    sync_filesystem(staging)  # every document durable before the release becomes visible under its name
    os.rename(staging, final)
    fsync_dir(layout.releases)
    return True


def publish(layout: OutputLayout, build_id: str) -> None:
    """Point `current` at a release: a new symlink renamed over the old one, so readers see one or the other."""
    tmp = layout.root / f".current-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(Path("releases") / build_id, tmp)
    os.replace(tmp, layout.current)
    fsync_dir(layout.root)


def sync_filesystem(path: Path) -> None:
    """Flush the filesystem holding `path` (syncfs): every document written there is as durable as after
    os.sync(), without waiting for other filesystems' dirty data. os.sync() where syncfs is missing."""
    if _syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


def _load_syncfs() -> Any:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
