"""A GTFS feed as publishers ship it: a zip (its files at the top or in one sub-folder) or a folder.

Files are streamed, never read whole: stop_times.txt of a large city is hundreds of megabytes. Each file
is held to the feed's ImportLimits while it is read (see builder/importer/limits.py).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from builder import gtfs
from builder.errors import FeedError
from builder.importer.limits import (
    CHUNK,
    DEFAULT_LIMITS,
    BoundedStream,
    ImportLimits,
    LimitError,
    check_columns,
    field_error,
    field_limit,
)

if TYPE_CHECKING:
    from _csv import Reader

UTF8 = "utf-8-sig"  # also strips a BOM, which spreadsheet exports put in front of the header
CP1252 = "cp1252"
# Left by macOS Finder and Windows Explorer when they zip a folder; never part of a feed.
_JUNK_NAMES = frozenset({"desktop.ini", "thumbs.db"})
_KNOWN_FILES = frozenset(t.file_name for t in gtfs.TABLES.values())
# A zip's end records: (signature, disks, entries here, entries, directory size, offset, comment length);
# zip64's locator (signature, disk, offset of its end record, disks) and end record (..., entries, size, ...).
_END = struct.Struct("<4s4H2LH")
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_METHODS = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64"}
# Errors a damaged or unsupported zip member raises only once it is read, not when the zip is opened.
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError)


def _c1_fallback(err: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; keep them as the C1 controls Latin-1 gives them (as browsers do)
    # so that a cp1252 file always decodes and no character is lost or replaced.
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("transit_snapshot_c1", _c1_fallback)


@dataclass(frozen=True)
class Feed:
    """The GTFS files of one feed: file name (`stops.txt`) -> where it is (zip entry or file path)."""

    source: Path
    members: dict[str, str]
    warnings: tuple[str, ...]
    archive: zipfile.ZipFile | None = None
    limits: ImportLimits = DEFAULT_LIMITS

    def open_binary(self, name: str) -> IO[bytes]:
        where = self.members[name]
        try:
            if self.archive is not None:
                return self.archive.open(where)
            return open(where, "rb")
        except READ_ERRORS as err:
            raise FeedError(f"cannot read {name} from {self.source}: {err}") from err

    def open_bounded(self, name: str) -> BoundedStream:
        """The file's bytes, refused as they are read as soon as they pass the feed's limits."""
        compressed = self.archive.getinfo(self.members[name]).compress_size if self.archive else None
        return BoundedStream(self.open_binary(name), name, self.limits, compressed)

    def check_sizes(self) -> None:
        """Refuse the feed by the declared sizes of the GTFS files it would read, before reading any."""
        for name in sorted(_KNOWN_FILES & self.members.keys()):
            where = self.members[name]
            if self.archive is not None:
                info = self.archive.getinfo(where)
                _check_method(name, info.compress_type)
                self.limits.check_declared(name, info.file_size, info.compress_size)
            else:
                try:
                    size = os.stat(where).st_size
                except OSError as err:
                    raise FeedError(f"cannot read {name} from {self.source}: {err}") from err
                self.limits.check_declared(name, size, None)

    def sha256(self) -> str:
        """Digest of the zip file, or of a folder's GTFS files (names and contents) in name order."""
        digest = hashlib.sha256()
        try:
            if self.archive is not None:
                with open(self.source, "rb") as raw:
                    _hash_stream(digest, raw)
            else:
                for name in sorted(self.members):
                    digest.update(name.encode() + b"\0")
                    with open(self.members[name], "rb") as raw:
                        _hash_stream(digest, raw)
        except OSError as err:
            raise FeedError(f"cannot read {self.source}: {err}") from err
        return digest.hexdigest()


def _check_method(name: str, method: int) -> None:
    # zipfile hands a bzip2 or LZMA decompressor each 4 KB read whole, and 4 KB of bzip2 can make
    # gigabytes at once; deflate is given a bound. Feeds are deflated (or stored), other methods refused.
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        kind = _METHODS.get(method, f"method {method}")
        raise LimitError(f"{name}: compressed with {kind}; only deflate and stored zip entries are read")


def _hash_stream(digest: hashlib._Hash, raw: IO[bytes]) -> None:
    while chunk := raw.read(1 << 20):
        digest.update(chunk)


@contextmanager
def open_feed(source: Path, limits: ImportLimits = DEFAULT_LIMITS) -> Iterator[Feed]:
    """The feed at `source`; FeedError when it is neither a readable zip nor a folder, or when a GTFS
    file's declared size passes the limits."""
    if source.is_dir():
        feed = _folder_feed(source, limits)
        feed.check_sizes()
        yield feed
        return
    if not source.is_file():
        raise FeedError(f"{source}: no such zip file or folder")
    try:
        directory = _zip_directory(source)
        if directory is not None:
            limits.check_zip_directory(*directory)
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, struct.error) as err:
        raise FeedError(f"{source} is not a readable zip file nor a folder: {err}") from err
    with archive:
        members, warnings = _zip_members(archive.namelist())
        feed = Feed(source, members, tuple(warnings), archive, limits)
        feed.check_sizes()
        yield feed


def _zip_directory(path: Path) -> tuple[int, int] | None:
    """(entries, bytes) of the zip's directory as its end record says; None when it has none (zipfile
    then says what is wrong)."""
    with open(path, "rb") as raw:
        size = raw.seek(0, os.SEEK_END)
        raw.seek(max(size - (_END.size + 0xFFFF), 0))  # the end record, then a comment of up to 64 KB
        tail = raw.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _END.size > len(tail):
            return None
        entries, directory = _END.unpack_from(tail, at)[4:6]
        if (entries == 0xFFFF or directory == 0xFFFFFFFF) and at >= _END64_LOCATOR.size:
            signature, _, offset, _ = _END64_LOCATOR.unpack_from(tail, at - _END64_LOCATOR.size)
            if signature == b"PK\x06\x07":  # zip64: the true counts are in a record of their own
                raw.seek(offset)
                entries, directory = _END64.unpack(raw.read(_END64.size))[7:9]
        return entries, directory


def _folder_feed(folder: Path, limits: ImportLimits) -> Feed:
    members = {
        p.name: str(p)
        for p in sorted(folder.iterdir())
        if p.suffix == ".txt" and p.is_file() and not _is_junk(p.name)
    }
    return Feed(folder, members, (), None, limits)


def _is_junk(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return "__MACOSX" in parts or base.startswith(".") or base.lower() in _JUNK_NAMES


def _zip_members(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Pick the folder of the zip that holds the feed; .txt files elsewhere are named in warnings."""
    by_folder: dict[str, dict[str, str]] = {}
    for entry in names:
        if entry.endswith("/") or _is_junk(entry) or not entry.endswith(".txt"):
            continue
        folder, base = posixpath.split(entry)
        by_folder.setdefault(folder, {})[base] = entry
    if not by_folder:
        return {}, []
    # The folder with the most GTFS file names wins; on a tie the shallowest, so a top-level feed
    # with a stray copy in a sub-folder still reads from the top.
    chosen = max(
        by_folder,
        key=lambda f: (len(_KNOWN_FILES & by_folder[f].keys()), -(f.count("/") + bool(f))),
    )
    warnings = [
        f"{entry}: ignored, the feed's files are in {chosen or 'the top folder'} of the zip"
        for folder, files in sorted(by_folder.items())
        if folder != chosen
        for entry in files.values()
    ]
    return by_folder[chosen], warnings


@dataclass(frozen=True)
class CsvFile:
    """One GTFS file being read: its cleaned header, and a reader standing on the first data row.

    Read the rows by iterating the CsvFile (or through import_values.converted_rows): each row taken is
    stored in `last_row[0]`, which is how the stream below tells a record quoted over many lines from
    many records (see BoundedStream). Iterating `reader` itself would look like one endless record.
    """

    name: str
    encoding: str
    header: list[str]
    header_line: int
    reader: Reader
    last_row: list[object]
    limits: ImportLimits

    def __iter__(self) -> Iterator[list[str]]:
        for row in self.reader:
            self.last_row[0] = row
            yield row


@contextmanager
def open_csv(feed: Feed, name: str, encoding: str) -> Iterator[CsvFile | None]:
    """The file as CSV rows (None when it has no header); decoding errors surface while reading, and
    LimitError as soon as the file passes one of the feed's limits."""
    errors = "transit_snapshot_c1" if encoding == CP1252 else "strict"
    with feed.open_bounded(name) as stream, field_limit(feed.limits.max_field_chars):
        text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
        text._CHUNK_SIZE = CHUNK  # type: ignore[attr-defined]  # (8 KB by default) fewer calls into Python
        reader = csv.reader(text)
        raw = _header_row(name, reader, feed.limits)
        stream.last_row[0] = raw
        check_columns(name, reader.line_num, len(raw), feed.limits)
        header = clean_header(raw)
        if not header:
            yield None
            return
        yield CsvFile(name, encoding, header, reader.line_num, reader, stream.last_row, feed.limits)


def _header_row(name: str, reader: Reader, limits: ImportLimits) -> list[str]:
    try:
        return next((row for row in reader if row), [])
    except csv.Error as err:
        raise field_error(name, reader.line_num, err, limits) or FeedError(
            f"{name}:{reader.line_num}: {err}"
        ) from err


def clean_header(raw: list[str]) -> list[str]:
    """Field names stripped of spaces and of a BOM a second encoding pass left behind.

    A trailing comma makes an empty last name: such columns are dropped (their values are ignored like
    any value beyond the header). An empty name inside the header gets a placeholder so columns still line up.
    """
    names = [n.strip().lstrip("\ufeff").strip() for n in raw]
    while names and not names[-1]:
        names.pop()
    return [n or f"column_{i + 1}" for i, n in enumerate(names)]
