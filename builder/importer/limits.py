"""How much a feed may make the importer read, and a byte stream that holds a file to it while it is read.

Aggregators import feeds they do not control: a 1 MB zip can hold a 1 GB line or 10 GB of zeros. A zip
entry is refused by its declared sizes before it is read; then every file is read through a
BoundedStream, 64 KB at a time, refused as soon as a line, a run of blank lines, a record, its size or
its compression ratio passes its limit, whatever its headers said. Fields and column counts are checked
by the CSV layer above it. Memory stays bounded whatever the feed holds; the defaults are far above any
real feed (the largest line of the real feeds tested is under 1 KB, the largest file 153 MB, the highest
ratio 28:1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from builder.errors import FeedError

CHUNK = 64 << 10  # what TextIOWrapper asks for at a time: a record is bounded to within two of these
ZIP_ENTRY_BYTES = 512  # room in a zip's directory for one entry with its name (46 bytes and the name)


@dataclass(frozen=True)
class ImportLimits:
    """The most one file of a feed may hold; each is an option of `transit-snapshot import`, same name."""

    max_line_bytes: int = 1 << 20  # a line, a record quoted over several lines, or a run of blank lines
    max_field_chars: int = 131_072  # one value (Python's csv default, which earlier versions applied)
    max_columns: int = 1_000  # fields of the header or of a row
    max_file_bytes: int = 4 << 30  # one file, decompressed
    max_ratio: float = 200.0  # decompressed / compressed size of a zip entry ...
    # ... once it is larger than this: small files of repeated ids are harmless
    ratio_floor_bytes: int = 16 << 20
    max_zip_entries: int = 10_000  # files and folders listed in a zip (a feed has a few dozen)

    def __post_init__(self) -> None:
        names = (
            "max_line_bytes",
            "max_field_chars",
            "max_columns",
            "max_file_bytes",
            "ratio_floor_bytes",
            "max_zip_entries",
        )
        for name in names:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_ratio < 1:
            raise ValueError("max_ratio must be at least 1")

    def check_declared(self, name: str, size: int, compressed: int | None) -> None:
        """Refuse a file by the size its zip entry (compressed is then known) or the file system declares."""
        unit = "bytes uncompressed" if compressed is not None else "bytes"
        if size > self.max_file_bytes:
            raise LimitError(f"{name}: {size:,} {unit}, more than {self.max_file_bytes:,} (--max-file-bytes)")
        if compressed is not None and self.ratio_exceeded(size, compressed):
            raise LimitError(
                f"{name}: compressed {size / max(compressed, 1):,.0f}:1, more than {self.max_ratio:,.0f}:1 "
                "(--max-ratio)"
            )

    def check_zip_directory(self, entries: int, directory_bytes: int) -> None:
        """Refuse a zip by its directory, which zipfile reads whole into memory (some 550 bytes an entry)
        before anything else: the count it declares, and its size, which bounds the real count."""
        if entries > self.max_zip_entries:
            raise LimitError(
                f"the zip lists {entries:,} entries, more than {self.max_zip_entries:,} (--max-zip-entries)"
            )
        if directory_bytes > self.max_zip_entries * ZIP_ENTRY_BYTES:
            raise LimitError(
                f"the zip's directory takes {directory_bytes:,} bytes, "
                f"more than {self.max_zip_entries:,} entries need (--max-zip-entries)"
            )

    def ratio_exceeded(self, size: int, compressed: int) -> bool:
        return size > self.ratio_floor_bytes and size > self.max_ratio * compressed


DEFAULT_LIMITS = ImportLimits()


class LimitError(FeedError):
    """A file passes one of the ImportLimits: reading stops there, and the feed is refused."""


@contextmanager
def field_limit(chars: int) -> Iterator[None]:
    """csv's field limit is one setting for the whole process: set it while one file is read."""
    previous = csv.field_size_limit(chars)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def field_error(name: str, line: int, err: csv.Error, limits: ImportLimits) -> LimitError | None:
    """csv's own error for a field past the limit, said as ours; None for any other csv error."""
    if not str(err).startswith("field larger than field limit"):
        return None
    return LimitError(
        f"{name}: line {line:,} has a field longer than {limits.max_field_chars:,} characters "
        "(--max-field-chars)"
    )


def check_columns(name: str, line: int, fields: int, limits: ImportLimits) -> None:
    if fields > limits.max_columns:
        raise LimitError(
            f"{name}: line {line:,} has {fields:,} fields, more than {limits.max_columns:,} (--max-columns)"
        )


class BoundedStream(io.BufferedIOBase):
    """The bytes of one file for a TextIOWrapper (which calls read1 only), checked chunk by chunk.

    Lines are counted and measured where csv cuts them (\\n, \\r\\n, \\r). A record that quotes line
    breaks is longer than any of its lines: whoever reads the rows stores each in `last_row[0]`, and a
    chunk read while no row was stored belongs to the record in progress.
    """

    def __init__(self, raw: IO[bytes], name: str, limits: ImportLimits, compressed: int | None) -> None:
        super().__init__()
        self.name = name
        self.last_row: list[object] = [None]
        self._raw = raw
        self._limits = limits
        self._compressed = compressed  # the zip entry's compressed size, None for a plain file
        self._read = 0
        self._lines = 0  # line breaks read
        self._line = 0  # bytes of the line in progress
        self._after_cr = False
        self._blank = 0  # bytes of the run of blank lines in progress ...
        self._blank_from = 1  # ... and its first line
        self._seen: object = None
        self._record = 0  # bytes read since a row was last stored

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def read1(self, size: int = -1) -> bytes:
        piece = self._raw.read(CHUNK if size < 0 else min(size, CHUNK))
        if piece:
            self._count(len(piece))
            self._check_record(len(piece))
            self._check_lines(piece)
        return piece

    def _count(self, size: int) -> None:
        # Counted as read, whatever the zip's headers or the file's size said.
        self._read += size
        limits = self._limits
        if self._read > limits.max_file_bytes:
            raise LimitError(f"{self.name}: more than {limits.max_file_bytes:,} bytes (--max-file-bytes)")
        if self._compressed is not None and limits.ratio_exceeded(self._read, self._compressed):
            raise LimitError(f"{self.name}: compressed more than {limits.max_ratio:,.0f}:1 (--max-ratio)")

    def _check_record(self, size: int) -> None:
        if self.last_row[0] is not self._seen:
            self._seen = self.last_row[0]
            self._record = 0
        self._record += size
        # Every chunk counted here was read while no row ended: the record in progress holds them all.
        if self._record > self._limits.max_line_bytes + CHUNK:
            raise LimitError(
                f"{self.name}: line {self._lines + 1:,} is still inside one record after more than "
                f"{self._limits.max_line_bytes:,} bytes (a quote left open?) (--max-line-bytes)"
            )

    def _check_lines(self, piece: bytes) -> None:
        limit = self._limits.max_line_bytes
        last = max(piece.rfind(b"\n"), piece.rfind(b"\r"))
        if last < 0:
            self._line += len(piece)
            if self._line > limit:
                raise self._too_long(self._lines + 1)
            self._after_cr, self._blank = False, 0
            return
        self._check_blanks(piece)
        if self._line + len(piece) > limit:  # else no line of it can be too long
            rest = piece[1:] if self._after_cr and piece.startswith(b"\n") else piece
            lengths = [len(line) for line in rest.splitlines()]
            if lengths:
                lengths[0] += self._line  # its start came in earlier chunks
            for number, length in enumerate(lengths, self._lines + 1):
                if length > limit:
                    raise self._too_long(number)
        self._lines += _breaks(piece, self._after_cr)
        self._line = len(piece) - last - 1
        self._after_cr = piece.endswith(b"\r")

    def _check_blanks(self, piece: bytes) -> None:
        """Each blank line costs csv a row; a billion of them would be minutes of nothing, so a run of
        them is bounded like a line."""
        body = piece.lstrip(b"\r\n")
        lead = piece[: len(piece) - len(body)]
        if self._line:  # the first break ends a line with text, it is no blank line
            lead = lead[1 + lead.startswith(b"\r\n") :] if lead else lead
        self._blank += len(lead)
        if self._blank > self._limits.max_line_bytes:
            last = self._lines + _breaks(lead, self._after_cr)
            raise LimitError(
                f"{self.name}: lines {self._blank_from:,} to {last:,} are blank, more than "
                f"{self._limits.max_line_bytes:,} bytes in a row (--max-line-bytes)"
            )
        if body:
            tail = piece[len(piece.rstrip(b"\r\n")) :]
            after = self._lines + _breaks(piece, self._after_cr)
            # The tail's first break ends the line with text before it.
            self._blank = max(len(tail) - 1 - tail.startswith(b"\r\n"), 0)
            self._blank_from = after - _breaks(tail, False) + 2

    def _too_long(self, line: int) -> LimitError:
        return LimitError(
            f"{self.name}: line {line:,} is longer than {self._limits.max_line_bytes:,} bytes "
            "(--max-line-bytes)"
        )


def _breaks(data: bytes, after_cr: bool) -> int:
    """Line breaks in `data`: \\n, \\r\\n and \\r each end one line (not a \\n right after an earlier \\r)."""
    count = data.count(b"\n")
    if b"\r" in data:
        count += data.count(b"\r") - data.count(b"\r\n")
    return count - (after_cr and data.startswith(b"\n"))
