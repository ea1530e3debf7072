"""The published release as one archive for offline consumers, and `verify`: a release, unpacked bundle
or archive checked against its manifest.

An archive holds the release under one folder named by its build id (`<build-id>/manifest.json`, ...);
the format follows the file name: .zip, .tar.gz / .tgz, or .tar.zst (zstandard).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from builder.errors import BuildError, VerifyError, io_error
from builder.release.manifest import MANIFEST, Manifest, ManifestError, parse
from builder.release.output import OutputLayout

FORMATS = {".zip": "zip", ".tar.gz": "gz", ".tgz": "gz", ".tar.zst": "zst"}
ALLOWED_EXTRA = {MANIFEST, "build-info.json"}
CHUNK = 1 << 20


def archive_format(path: Path) -> str:
    for suffix, fmt in FORMATS.items():
        if path.name.endswith(suffix):
            return fmt
    raise BuildError(f"cannot tell the archive format of {path}: name it .zip, .tar.gz, .tgz or .tar.zst")


def bundle(layout: OutputLayout, to: Path) -> str:
    """Write the current release to `to` (a temporary name, then renamed); returns its build id."""
    build_id = layout.current_build_id()
    if build_id is None or not layout.current.is_dir():
        raise BuildError(f"nothing is published in {layout.root}: build first")
    fmt, release = archive_format(to), layout.release(build_id)
    files = sorted(p for p in release.rglob("*") if p.is_file())
    tmp = to.parent / f".{to.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            _write_archive(fmt, fh, [(f, f"{build_id}/{f.relative_to(release).as_posix()}") for f in files])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, to)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise io_error(exc, "cannot write the bundle", exc.filename or to) from exc
    return build_id


def _write_archive(fmt: str, fh: IO[bytes], members: list[tuple[Path, str]]) -> None:
    if fmt == "zip":
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path, name in members:
                zf.write(path, name)
        return
    if fmt == "gz":
        with tarfile.open(fileobj=fh, mode="w:gz") as tf:
            _add_all(tf, members)
        return
    zstd = _zstandard()
    with (
        zstd.ZstdCompressor().stream_writer(fh, closefd=False) as zfh,
        tarfile.open(fileobj=zfh, mode="w|") as tf,
    ):
        _add_all(tf, members)


def _add_all(tf: tarfile.TarFile, members: list[tuple[Path, str]]) -> None:
    for path, name in members:
        tf.add(path, name, recursive=False)


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise BuildError("the .tar.zst format needs the zstandard package: pip install zstandard") from None
    return zstandard


def verify(path: Path) -> str:
    """Check a release folder, an unpacked bundle or an archive; returns the build id, or raises."""
    try:
        files = dict(_archive_files(path) if path.is_file() else _folder_files(_release_root(path)))
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise BuildError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    raw = files.get(MANIFEST)
    if raw is None:
        raise VerifyError(f"{path}: no {MANIFEST}")
    try:
        listed = parse(raw[2], f"{path}")
    except ManifestError as exc:
        raise VerifyError(f"{path} does not match its manifest:", [str(exc)]) from exc
    problems = _compare(listed, files)
    build_id = hashlib.sha256(raw[2]).hexdigest()[:16]
    if problems:
        raise VerifyError(f"{path} does not match its manifest ({len(problems)} problems):", problems)
    return build_id


def _compare(listed: Manifest, files: dict[str, tuple[int, str, bytes]]) -> list[str]:
    problems = []
    # precompressed sidecars (build --compress) carry their own path, size and sha256
    expected = listed.files()
    for name, (want_sha, want_size, _, _) in sorted(expected.items()):
        if name not in files:
            problems.append(f"missing: {name}")
            continue
        size, sha, _ = files[name]
        if size != want_size:
            problems.append(f"wrong size: {name} has {size} bytes, the manifest says {want_size}")
        if sha != want_sha:
            problems.append(f"wrong sha256: {name}")
    problems += [f"extra: {name}" for name in sorted(files.keys() - expected.keys() - ALLOWED_EXTRA)]
    return problems


def _release_root(path: Path) -> Path:
    """The folder holding manifest.json: the path itself, or the one build-id folder of an unpacked bundle."""
    if not path.is_dir():
        raise BuildError(f"no release folder or archive at {path}")
    if (path / MANIFEST).is_file():
        return path
    inner = [p for p in path.iterdir() if (p / MANIFEST).is_file()]
    return inner[0] if len(inner) == 1 else path


def _folder_files(root: Path) -> Iterator[tuple[str, tuple[int, str, bytes]]]:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                yield p.relative_to(root).as_posix(), _digest(p.name, fh)


def _archive_files(path: Path) -> Iterator[tuple[str, tuple[int, str, bytes]]]:
    """Every member's (size, sha256), under the archive's one top folder, read as a stream."""
    for name, fh in _members(path, archive_format(path)):
        top, _, rest = name.partition("/")
        yield rest or top, _digest(name.rsplit("/", 1)[-1], fh)


def _members(path: Path, fmt: str) -> Iterator[tuple[str, IO[bytes]]]:
    if fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as fh:
                        yield info.filename, fh
        return
    with open(path, "rb") as raw:
        stream: Any = raw if fmt == "gz" else _zstandard().ZstdDecompressor().stream_reader(raw)
        with tarfile.open(fileobj=stream, mode="r|gz" if fmt == "gz" else "r|") as tf:
            for member in tf:
                extracted = tf.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    yield member.name, extracted


def _digest(name: str, fh: IO[bytes]) -> tuple[int, str, bytes]:
    """Size and sha256 of a stream; the bytes themselves only for the manifest, which is parsed."""
    sha, size, kept = hashlib.sha256(), 0, b""
    while chunk := fh.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if name == MANIFEST:
            kept += chunk
    return size, sha.hexdigest(), kept
