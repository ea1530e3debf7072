"""A timetable part's rows of cells made by slicing bytes, not cell by cell.

A route page's table is its trips' times turned on their side: a row per stop, a cell per trip. Made a
cell at a time (a lookup of each time's cell), mta_bus_brooklyn's 2.6 million cells took 0.6 s of the
site pass: its 90,000 distinct times miss the CPU's caches on every lookup. Here the trips' times are
dumped as JSON into one blob of fixed-width cells (`"HH:MM:SS",`, an absent or untimed time swapped for
a sentinel of the same width), so that a stop's cells sit one trip's width apart and its row is four
strided slices of the blob into a row of `<td>HH:MM` cells, in C.

The rows are the same text `tables` makes a cell at a time (a test compares both on real feeds). Only
times the slices can read are taken this way: when any of a part's times is not `HH:MM:SS` (odd
widths, three-digit hours), `rows` returns None and the caller makes that part cell by cell. Every byte
a row takes from the blob is checked to be a digit or a sentinel, so nothing from the feed reaches the
page unescaped.
"""

from __future__ import annotations

import re

import orjson

from builder.site.reader import Doc

WIDTH = len('"HH:MM:SS",')
_ABSENT = b'"\x00\x00:\x00\x00:\x00\x00"'  # null: the trip does not stop there
_UNTIMED = b'"\x01\x01:\x01\x01:\x01\x01"'  # "": it stops, without a scheduled time
_CELL = b"<td>\x00\x00:\x00\x00"  # a row's cell before its hour and minute are sliced in
# a cell once sliced: an absent time leaves it blank as it was, an untimed one fills it with its sentinel
_ABSENT_SLICED, _UNTIMED_SLICED = _CELL, _CELL.replace(b"\x00", b"\x01")
_SLOTS = ((4, 1), (5, 2), (7, 4), (8, 5))  # (offset in _CELL, offset in the blob's cell): H, H, M, M
_FIXED = ((0, b'"'), (3, b":"), (6, b":"), (9, b'"'), (10, b","))
_LATE = re.compile(rb"<td>(2[4-9]|[3-9]\d):(\d\d)")  # past midnight: shown as the next day's time
UNTIMED_CELL = '<td class="nt">•'  # a stop without a scheduled time, here and in builder.site.tables
_UNTIMED_CELL = UNTIMED_CELL.encode()


def late_time(hours: int, minutes: str) -> str:
    """A time past midnight (`hours` 24 or more) as the next day's, marked with how many days later:
    the one way both this module and builder.site.tables write it."""
    days = hours // 24
    return f'{hours % 24:02d}:{minutes}<small title="{days} day(s) later">+{days}</small>'


def rows(trips: list[Doc], stops: int) -> list[str] | None:
    """Each stop's cells, as `tables` writes them, for `trips` of a table of `stops` stops; None when
    the times are not all `HH:MM:SS`, absent or untimed."""
    blob = _blob(trips, stops)
    if blob is None:
        return None
    stride, blank = WIDTH * stops, _CELL * len(trips)
    late = _any_late(blob)
    made = []
    for stop in range(stops):
        row = _row(blob, stop * WIDTH, stride, blank)
        row = row.replace(_ABSENT_SLICED, b"<td>").replace(_UNTIMED_SLICED, _UNTIMED_CELL)
        made.append((_LATE.sub(_late_cell, row) if late else row).decode())
    return made


def _row(blob: bytes, at: int, stride: int, blank: bytes) -> bytes:
    row = bytearray(blank)
    for into, offset in _SLOTS:
        row[into :: len(_CELL)] = blob[at + offset :: stride]
    return bytes(row)


def _blob(trips: list[Doc], stops: int) -> bytes | None:
    """The trips' times, trip after trip, each cell WIDTH bytes; None unless every one is a time
    `HH:MM:SS` (two-digit hours), None (absent) or "" (untimed)."""
    if not trips or not stops or any(len(t["times"]) != stops for t in trips):
        return None
    absent = sum(t["times"].count(None) for t in trips)
    untimed = sum(t["times"].count("") for t in trips)
    blob = b",".join([orjson.dumps(t["times"])[1:-1] for t in trips]) + b","
    # a string holding `null` or an escaped quote changes these counts: such a part is not sliced
    if blob.count(b"null") != absent or blob.count(b'""') != untimed:
        return None
    blob = blob.replace(b"null", _ABSENT).replace(b'""', _UNTIMED)
    cells = len(trips) * stops
    if len(blob) != WIDTH * cells:
        return None
    # every byte of every cell checked by its place: quotes, colons and comma where a cell's are (so
    # each cell's eight bytes are its own), digits or a sentinel in the rest
    if any(blob[at::WIDTH] != mark * cells for at, mark in _FIXED):
        return None
    if any(blob[at::WIDTH].translate(None, b"0123456789\x00\x01") for at in (1, 2, 4, 5, 7, 8)):
        return None
    return blob


def _any_late(blob: bytes) -> bool:
    """Whether any time's hour is 24 or more (its first digit 3-9, or 2 before 4-9)."""
    tens, units = blob[1::WIDTH], blob[2::WIDTH]
    if tens.translate(None, b"012\x00\x01"):
        return True
    twenties = int.from_bytes(tens.translate(_IS_TWO), "big")
    return twenties & int.from_bytes(units.translate(_FOUR_UP), "big") != 0


_IS_TWO = bytes(1 if b == ord("2") else 0 for b in range(256))
_FOUR_UP = bytes(1 if ord("4") <= b <= ord("9") else 0 for b in range(256))


def _late_cell(match: re.Match[bytes]) -> bytes:
    return b"<td>" + late_time(int(match[1]), match[2].decode()).encode()
