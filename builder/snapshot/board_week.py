"""A stop's week of departures as its page reads them (kind `stop_week`, `stops/<key>.js`).

With `build --site` the boards pass, which holds each stop's departures of the window, also writes them
in the short form a stop page's script shows, so the site never reads the boards' JSON back. The file is
a script, `window.transitSnapshotBoards={...};`, because browsers refuse to fetch files from `file://`
but load a `<script src>`. Its object has the keys `dates` (the window's, `YYYYMMDD`), `days` (date ->
rows), `headsigns`, `offsets` (date -> UTC offset), `platforms` and `routes`, sorted as orjson's
OPT_SORT_KEYS writes them; a row is `[time, route index, headsign index, platform index, note]`, and each
name is stored once, numbered in the order the rows first use it (dates in order, each date's rows in
board order). The time is the departure's local ISO date-time as its board states it, shortened: on the
row's own date it is written without its date (`HH:MM:SS-05:00`), and at the date's usual offset (the
first such row's, `offsets[date]`) without its offset (`HH:MM:SS`). Only on the night the clocks change,
or at a platform in a zone of its own, does a row keep its offset or its date. Rows are half as long,
and a phone loads half as much.

`WeekRows` makes it in the boards pass: each visit (each period of a frequency trip) is one `Cell` made
once, and a departure is its ISO time and its visit's cell, encoded when the names are numbered. The
merge of shards, which has no boards pass, makes the same bytes from the boards' JSON
(builder.site.boards.week_from_boards).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

Doc = dict[str, Any]
PREFIX = b"window.transitSnapshotBoards="
SUFFIX = b";\n"

# GTFS pickup_type / drop_off_type: 1 none, 2 phone the agency, 3 ask the driver (0 or empty: regular)
_PICKUP = {1: "no boarding", 2: "boarding: phone the agency", 3: "boarding: ask the driver"}
_DROP_OFF = {1: "boarding only", 2: "alighting: phone the agency", 3: "alighting: ask the driver"}


def note(departure: Doc) -> str:
    """What a rider must know about one departure beyond its time, as the real boards state it (a
    departure as its board's JSON has it)."""
    pickup, drop_off = departure.get("pickup_type") or 0, departure.get("drop_off_type") or 0
    notes = []
    if departure.get("departure") is None:
        notes.append("arrives only")
    elif pickup in _PICKUP:
        notes.append(_PICKUP[pickup])
    if drop_off == 1 and pickup == 1:
        notes[-1:] = ["no boarding or alighting"]
    elif drop_off in _DROP_OFF and pickup != 1:
        notes.append(_DROP_OFF[drop_off])
    if departure.get("estimated"):
        notes.append("estimated time")
    frequency = departure.get("frequency")
    if frequency and not frequency.get("exact_times"):
        notes.append(f"about every {frequency['headway_secs'] / 60:g} min")
    return ", ".join(notes)


class Names:
    """Each distinct string once; rows hold indexes into `items`."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.index: dict[str, int] = {}

    def of(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.items)
            self.items.append(value)
        return found


def script(
    dates: Sequence[str], days: Sequence[bytes], tables: Sequence[list[Any]], offsets: dict[str, str]
) -> list[bytes]:
    """The document's bytes: `days` each date's rows as a JSON array, `tables` the headsigns, platforms
    and routes (route rows: builder.site.boards.route_row), `offsets` the dates' usual UTC offsets."""
    headsigns, platforms, routes = tables
    return [
        PREFIX,
        b'{"dates":',
        orjson.dumps(list(dates)),
        b',"days":{',
        b",".join([b'"%s":%s' % (date.encode(), rows) for date, rows in zip(dates, days, strict=True)]),
        b'},"headsigns":',
        orjson.dumps(headsigns),
        b',"offsets":',
        orjson.dumps(offsets),
        b',"platforms":',
        orjson.dumps(platforms),
        b',"routes":',
        orjson.dumps(routes),
        b"}",
        SUFFIX,
    ]


def parse(data: bytes) -> Doc | None:
    """The object of a `stop_week` script (None when the bytes are not one)."""
    if not data.startswith(PREFIX) or not data.endswith(SUFFIX):
        return None
    found = orjson.loads(data[len(PREFIX) : -len(SUFFIX)])
    return found if isinstance(found, dict) else None


def parse_first_day(data: bytes) -> Doc | None:
    """`parse`, but of `days` only the first date's rows: all a stop's page shows in its HTML, and a
    seventh of the parsing on a busy stop. The cuts are where `script` joins its pieces; a quote inside
    a JSON string is escaped, so `,"<date>":` and `},"headsigns":` cannot occur inside a row or a name.
    Bytes not laid out as `script` writes them are parsed whole."""
    head = PREFIX + b'{"dates":'
    days_at = data.find(b',"days":{', len(head))
    tables_at = data.rfind(b'},"headsigns":')
    if not data.startswith(head) or not data.endswith(SUFFIX) or not 0 <= days_at < tables_at:
        return parse(data)
    dates = data[len(head) : days_at]
    first = data[days_at + len(b',"days":{') : tables_at]
    later = orjson.loads(dates)[1:2]
    if later:
        cut = first.find(b',"%s":' % later[0].encode())
        if cut < 0:
            return parse(data)
        first = first[:cut]
    found = orjson.loads(b'{"dates":' + dates + b',"days":{' + first + data[tables_at : -len(SUFFIX)])
    return found if isinstance(found, dict) else None


def full_time(date: str, time: str, offsets: dict[str, str]) -> str:
    """A row's time as its board states it: a time without its date is on the row's date, one without
    its offset is at the date's usual offset (a time of another zone can be on another date at it)."""
    if time[2:3] == ":":
        time = f"{date[:4]}-{date[4:6]}-{date[6:]}T{time}"
    return time + offsets[date] if len(time) == len("YYYY-MM-DDTHH:MM:SS") else time


def clock_time(time: str) -> str:
    """`HH:MM` of a row's time, whichever of its forms (full_time) it has."""
    return time[:5] if time[2:3] == ":" else time[11:16]


# A visit's part of its departures' rows: route_id, headsign, platform (the visited stop), note as JSON,
# then the rest of the row once the stop's names are numbered (None until then).
Cell = list[Any]


def cell(route_id: str, headsign: str | None, platform: str, departure: Doc) -> Cell:
    """The cell of a visit; `departure` has the fields `note` reads (the same for all its departures)."""
    return [route_id, headsign or "", platform, orjson.dumps(note(departure)), None]


class WeekRows:
    """One stop's week: its departures, sorted, each date's a sequence of (…, ISO time, cell) whose last
    two items are what a row needs (the boards pass's departures with them appended)."""

    def __init__(self, route_rows: dict[str, list[str]], fallback: Any) -> None:
        self.route_rows, self.fallback = route_rows, fallback
        self.routes, self.headsigns, self.platforms = Names(), Names(), Names()

    def document(self, dates: Sequence[str], days: Sequence[Sequence[Sequence[Any]]]) -> list[bytes]:
        offsets: dict[str, str] = {}
        rows = [
            self._day(date, day, offsets) if day else b"[]" for date, day in zip(dates, days, strict=True)
        ]
        routes = [self.route_rows.get(r) or self.fallback(r) for r in self.routes.items]
        return script(dates, rows, (self.headsigns.items, self.platforms.items, routes), offsets)

    def _day(self, date: str, day: Sequence[Sequence[Any]], offsets: dict[str, str]) -> bytes:
        """One date's rows, their times shortened (the module's docstring). A time is
        `"YYYY-MM-DDTHH:MM:SS<offset>"`, quotes included: the rows' other items are numbers and notes,
        so the date and the offset only occur in times, and two replaces in C shorten every row."""
        encode = self._encode
        rows = b"],[".join([d[-2] + (d[-1][4] or encode(d[-1])) for d in day])
        on_date = b'"%s-%s-%sT' % (date[:4].encode(), date[4:6].encode(), date[6:].encode())
        first = next((d[-2] for d in day if d[-2].startswith(on_date)), None)
        if first is None:
            return b"[[" + rows + b"]]"
        usual = first[20:]  # `-05:00"` (or `Z"`): a time at another offset on the date keeps its own
        offsets[date] = usual[:-1].decode()
        return b"[[" + rows.replace(on_date, b'"').replace(usual, b'"') + b"]]"

    def _encode(self, c: Cell) -> bytes:
        """The row after its time: `,route,headsign,platform,"note"`, names numbered on first use."""
        numbers = b",%d,%d,%d," % (self.routes.of(c[0]), self.headsigns.of(c[1]), self.platforms.of(c[2]))
        found: bytes = numbers + c[3]
        c[4] = found
        return found
