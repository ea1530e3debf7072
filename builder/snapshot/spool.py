"""Parking for finished JSON that must be written later in another order: a route tree's trips.

A route's trips arrive in trip_id order but its tree lists them by direction and first departure, so
every trip must be kept until the route's last one has been seen. Kept in memory, the largest route of a
feed sets the build's memory (mta_bus_brooklyn: a 20 MB tree); kept here, memory stays at SPILL_BYTES
plus a small tuple per trip. Most routes never reach SPILL_BYTES and never touch the disk.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any, Self

from builder.errors import BuildError, io_error

# Above this many bytes of one route's trips in memory, they go to the spool file. Small enough to stay
# well under the other costs of a pass, large enough that a few hundred trips go in one write.
SPILL_BYTES = 2 << 20


class Spool:
    """One unnamed scratch file (O_TMPFILE where the OS has it: gone with the process, whatever happens)
    on the output's filesystem, reused route after route."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None
        self._end = 0

    def append(self, data: bytes | bytearray) -> int:
        """Writes `data` after what is parked; returns its offset."""
        offset, view = self._end, memoryview(data)
        try:
            if self._fd is None:
                self._fd = _unnamed_file(self.folder)
            while view:
                view = view[os.pwrite(self._fd, view, self._end) :]
                self._end = offset + len(data) - len(view)
        except OSError as exc:  # a full disk, in a helper too, is the build's one-line error
            raise io_error(exc, "cannot write the route spool file in", self.folder) from exc
        return offset

    def read(self, offset: int, length: int) -> bytes:
        if self._fd is None:
            raise BuildError(f"the route spool file in {self.folder} was read before anything was parked")
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as exc:
            raise io_error(exc, "cannot read the route spool file in", self.folder) from exc
        if len(data) != length:
            raise BuildError(
                f"the route spool file in {self.folder} lost data at {offset} ({len(data)} of {length} bytes)"
            )
        return data

    def reset(self) -> None:
        """Forget everything parked: the next route starts at offset 0 (no truncate; it is overwritten)."""
        self._end = 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _unnamed_file(folder: Path) -> int:
    """A file with no name in `folder`: nothing is left behind, even by a kill -9."""
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here (not Linux, or a filesystem without it)
        fd, name = tempfile.mkstemp(dir=folder)
        os.unlink(name)
        return fd


SortKey = Any


class SortedParking:
    """Items of finished JSON, each with a sort key, handed back in key order.

    Items are copied into one buffer (orjson's output of a small document holds a 4 KiB allocation, so
    keeping its bytes objects would cost several times their length); past SPILL_BYTES the buffer goes
    to the spool in one write. An item's offset counts from the spool's start, then on into the buffer."""

    def __init__(self, spool: Spool) -> None:
        spool.reset()
        self.spool = spool
        self.items: list[tuple[SortKey, int, int]] = []  # (key, offset, length)
        self._buffer = bytearray()
        self._spooled = 0  # bytes before the buffer's first one: those are in the spool

    def add(self, key: SortKey, data: bytes) -> None:
        self.items.append((key, self._spooled + len(self._buffer), len(data)))
        self._buffer += data
        if len(self._buffer) > SPILL_BYTES:
            self.spool.append(self._buffer)
            self._spooled += len(self._buffer)
            self._buffer = bytearray()

    def in_order(self) -> Iterator[bytes]:
        """Every item's bytes, by key (stable for equal keys)."""
        self.items.sort(key=itemgetter(0))
        buffer, spooled = memoryview(self._buffer), self._spooled
        for _, offset, length in self.items:
            if offset >= spooled:
                yield buffer[offset - spooled : offset - spooled + length].tobytes()
            else:
                yield self.spool.read(offset, length)
