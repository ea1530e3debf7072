"""Hostile zips written cheaply: gigabytes of decompressed data from a few megabytes written, in milliseconds.

A deflate stream of a block repeated N times is the block compressed once and its compressed bytes
written N times: a full flush resets the compressor, so every copy compresses to the same bytes. The zip
is written by hand (zipfile would compress every byte itself), with zip64 sizes where they pass 4 GB and
whatever sizes the caller wants declared, true or not.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_EXTRA = struct.Struct("<2H2Q")
_FULL = 0xFFFFFFFF
GB = 1 << 30
MB = 1 << 20


@dataclass(frozen=True)
class Repeated:
    """`head`, then `block` `count` times, then `tail`, deflated; `padding` junk bytes follow the stream
    (zlib stops at its end), so the entry's compressed size can be made to look ordinary."""

    head: bytes
    block: bytes
    count: int
    tail: bytes = b""
    padding: int = 0
    declared_size: int | None = None  # what the headers say it decompresses to; None: the truth

    @property
    def size(self) -> int:
        return len(self.head) + self.count * len(self.block) + len(self.tail)

    def deflated(self) -> Iterator[bytes]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        yield compressor.compress(self.head) + compressor.flush(zlib.Z_FULL_FLUSH)
        once = compressor.compress(self.block) + compressor.flush(zlib.Z_FULL_FLUSH)
        for _ in range(self.count):
            yield once
        yield compressor.compress(self.tail) + compressor.flush()
        yield b"\xa5" * self.padding

    def crc(self) -> int:
        # A true CRC of gigabytes would cost seconds; the importer must give up long before the end of
        # the entry, where zipfile would check it. Small entries get their true CRC.
        if self.size > 64 * MB:
            return 0
        return zlib.crc32(self.head + self.block * self.count + self.tail)


def write_zip(path: Path, files: Mapping[str, str | bytes | Repeated]) -> Path:
    """A zip of `files`: text or bytes are deflated as they are, Repeated entries as described."""
    central = []
    with open(path, "wb") as out:
        for name, content in files.items():
            entry = content if isinstance(content, Repeated) else _plain(content)
            offset = out.tell()
            compressed = sum(len(part) for part in entry.deflated())
            declared = entry.size if entry.declared_size is None else entry.declared_size
            header, extra = _header(name, entry.crc(), compressed, declared)
            out.write(_LOCAL.pack(b"PK\x03\x04", *header[1:], len(extra)) + name.encode() + extra)
            out.writelines(entry.deflated())
            central.append((name, header, extra, offset))
        start = out.tell()
        for name, header, extra, offset in central:
            _, version, flags, method, time, date, crc, csize, fsize, name_len = header
            out.write(
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    version,
                    version,
                    flags,
                    method,
                    time,
                    date,
                    crc,
                    csize,
                    fsize,
                    name_len,
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
            )
            out.write(name.encode() + extra)
        size = out.tell() - start
        out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))
    return path


def _plain(content: str | bytes) -> Repeated:
    return Repeated(content.encode() if isinstance(content, str) else content, b"", 0)


def _header(name: str, crc: int, compressed: int, size: int) -> tuple[tuple[object, ...], bytes]:
    zip64 = size >= _FULL or compressed >= _FULL
    extra = _ZIP64_EXTRA.pack(1, 16, size, compressed) if zip64 else b""
    sizes = (_FULL, _FULL) if zip64 else (compressed, size)
    version = 45 if zip64 else 20
    # (signature, version, flags, method: deflate, time, date (1 Jan 2024), crc, sizes, name length)
    return (b"", version, 0, 8, 0, (44 << 9) | (1 << 5) | 1, crc, *sizes, len(name.encode())), extra


def write_listing(path: Path, entries: int, declared: int | None = None) -> Path:
    """A zip whose directory lists `entries` empty files (`declared` of them, says its end record), in
    milliseconds: one local file, listed over and over."""
    name = b"x.txt"
    with open(path, "wb") as out:
        out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name)
        start = out.tell()
        entry = _CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0) + name
        out.write(entry * entries)
        count = entries if declared is None else declared
        out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, len(entry) * entries, start, 0))
    return path
