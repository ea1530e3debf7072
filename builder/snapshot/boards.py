"""Departure boards: `departures/<YYYYMMDD>/<stop-key>.json`, every stop, every date of the window.

One sorted pass over the stops of an id range, merging stop_times ordered by stop_id (a stop's own
visits) and, for stations, stop_times of the stops inside them ordered by parent_station, with groupby
against the list of stops: memory holds one stop's (or station's) visits times the window's dates.

A visit becomes a departure on each service date S its trip runs, at the instant "noon minus 12 h" of S
in the agency's zone plus its GTFS time (builder.snapshot.clock), and goes on the board of the local date of
that instant in the board stop's zone. Of a departure's seventeen fields only service_date, arrival and
departure change from one date to the next: each visit's other fields are made JSON once, in the key
order orjson's OPT_SORT_KEYS writes, and each departure is those bytes with the three spliced in.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, null, select

from builder.release.output import DUMP_OPTIONS, Assembled, Raw
from builder.snapshot.board_context import BoardContext, TripInfo, load_board_context, small_json
from builder.snapshot.board_week import Cell, WeekRows, cell
from builder.snapshot.calendars import format_date
from builder.snapshot.clock import EPOCH_ORDINAL, ZoneClock, gtfs_time, parse_gtfs_time, time_json
from builder.snapshot.lookups import Doc, load_routes
from builder.snapshot.passkit import Made, PassInput
from builder.snapshot.source import KeyRange, Source

KIND, WEEK = "departures", "stop_week"
VISIT_COLUMNS = (
    "stop_id",
    "trip_id",
    "stop_sequence",
    "arrival_time",
    "departure_time",
    "pickup_type",
    "drop_off_type",
)
# sort key (instant, trip_id, stop_sequence), then the JSON, the row's ISO time and the visit's
# board_week.Cell (None without --site)
Departure = tuple[Any, ...]
SORT_KEY = itemgetter(0, 1, 2)


def prepare(inp: PassInput) -> BoardContext | None:
    """Run once before the helpers fork (builder.snapshot.kinds): None when the window has no dates.
    With the site, also every route as a stop page's boards show it (its `stop_week` documents)."""
    if not inp.window.days:
        return None
    ctx = load_board_context(inp.source, inp.conn, inp.lookups, inp.window)
    if inp.makes(WEEK):
        # the site's code only when the build makes the site
        from builder.site.boards import route_row
        from builder.site.pages import page_root

        up = page_root()  # from the stop's page, which loads stops/<key>.js, to the root
        routes = load_routes(inp.source, inp.conn)
        ctx.route_rows = {rid: route_row(route, up) for rid, route in routes.items()}
        ctx.unknown_route = partial(_unknown_route, route_row, up)
    return ctx


def _unknown_route(route_row: Callable[[Doc, str], list[str]], up: str, route_id: str) -> list[str]:
    return route_row({"route_id": route_id}, up)


def boards(inp: PassInput) -> Iterator[Made]:
    """Every board of every stop within the task's span, stop by stop, date by date."""
    ctx: BoardContext | None = inp.prepared
    if ctx is not None:
        yield from _boards(inp.source, inp.conn, ctx, inp.span)


def _boards(source: Source, conn: Connection, ctx: BoardContext, span: KeyRange) -> Iterator[Made]:
    t = source.table("stops")
    stops = [
        r[0]
        for r in source.rows(
            conn,
            select(t.c.stop_id).where(*source.within(t.c.stop_id, span)).order_by(source.by_id(t.c.stop_id)),
        )
    ]
    own = _Merge(source.rows(conn, _visits_by_stop(source, span)))
    inside = _Merge(
        source.rows(conn, _visits_by_station(source, span))
        if any(s in ctx.stations for s in stops)
        else iter(())
    )
    for sid in stops:
        visits = own.take(sid)
        if sid in ctx.stations:
            visits = [*visits, *inside.take(sid)]
        yield from _stop_boards(ctx, sid, visits)


class _Merge:
    """Groups of a stream sorted by its first column, taken in the same order as the stops."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._groups = groupby(rows, itemgetter(0))
        self._next = next(self._groups, None)

    def take(self, key: str) -> list[Sequence[Any]]:
        while self._next is not None and self._next[0] < key:  # orphans: the stop pass reports them
            self._next = next(self._groups, None)
        if self._next is None or self._next[0] != key:
            return []
        found = list(self._next[1])
        self._next = next(self._groups, None)
        return found


def _columns(source: Source, table: Any) -> list[Any]:
    return [table.c[c] if c in table.c else null().label(c) for c in VISIT_COLUMNS]


def _visits_by_stop(source: Source, span: KeyRange) -> Any:
    st = source.table("stop_times")
    return (
        select(st.c.stop_id.label("board_stop"), *_columns(source, st))
        .where(*source.within(st.c.stop_id, span))
        .order_by(source.by_id(st.c.stop_id))
    )


def _visits_by_station(source: Source, span: KeyRange) -> Any:
    """Visits to the stops inside a station, by station: (parent_station, then VISIT_COLUMNS)."""
    st, stops = source.table("stop_times"), source.table("stops")
    parent = stops.c.parent_station
    return (
        select(parent, *_columns(source, st))
        .join_from(st, stops, st.c.stop_id == stops.c.stop_id)
        .where(parent.is_not(None), *source.within(parent, span))
        .order_by(source.by_id(parent))
    )


def _stop_boards(ctx: BoardContext, sid: str, visits: list[Sequence[Any]]) -> Iterator[Made]:
    days = ctx.window.dates()
    zone = ctx.zones.get(sid, ctx.feed_zone)
    boards: list[list[Departure]] = [[] for _ in days]
    routes: list[set[str]] = [set() for _ in days]
    _Collector(ctx, zone, boards, routes).visits(visits)
    stop = orjson.dumps(ctx.lookups.stops[sid], option=DUMP_OPTIONS)
    tail_zone = b',"timezone":' + orjson.dumps(zone) + b"}"
    for departures in boards:
        departures.sort(key=SORT_KEY)
    if ctx.route_rows is not None:
        week = WeekRows(ctx.route_rows, ctx.unknown_route)
        yield WEEK, sid, Raw(week.document([format_date(day) for day in days], boards))
    for day, departures, used in zip(days, boards, routes):
        text = format_date(day)
        summaries = {rid: ctx.lookups.routes[rid] for rid in used if rid in ctx.lookups.routes}
        doc = Assembled(
            [
                b'{"date":"' + text.encode() + b'","departures":[',
                b",".join([d[3] for d in departures]),
                b'],"routes":' + orjson.dumps(summaries, option=DUMP_OPTIONS) + b',"stop":' + stop,
                tail_zone,
            ]
        )
        yield KIND, f"{text}/{sid}", doc


class _Collector:
    """Turns one stop's visits into departures on the boards of the window's dates."""

    def __init__(
        self, ctx: BoardContext, zone: str, boards: list[list[Departure]], routes: list[set[str]]
    ) -> None:
        self.ctx, self.boards, self.routes = ctx, boards, routes
        self.board_clock = ctx.clock(zone)
        self.low, self.high = ctx.bounds(zone)
        self.first_day = ctx.window.first.toordinal() - EPOCH_ORDINAL
        self._members: dict[str, tuple[ZoneClock, bytes]] = {}
        self.week = ctx.route_rows is not None  # --site: rows for the stop's week too (_cell)
        self._cells: dict[tuple[Any, ...], Cell] = {}

    def visits(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            info = self.ctx.trips.get(row[2])
            if info is None or not info[0][0]:
                continue  # a trip not in trips (the stop pass reports it) or not running near the window
            clock, stop_json = self._member(row[1])
            self._visit(row, info, clock, stop_json)

    def _member(self, stop_id: str) -> tuple[ZoneClock, bytes]:
        """The visited stop's zone (its ISO times') and JSON: the board's stop, or a stop inside it."""
        found = self._members.get(stop_id)
        if found is None:
            zone = self.ctx.zones.get(stop_id, self.ctx.feed_zone)
            found = self._members[stop_id] = (self.ctx.clock(zone), small_json(stop_id))
        return found

    def _visit(self, row: Sequence[Any], info: TripInfo, clock: ZoneClock, stop_json: bytes) -> None:
        _, _, trip_id, seq, arrival, departure, pickup, drop_off = row
        seq = int(seq)
        arr, dep, estimated = parse_gtfs_time(arrival), parse_gtfs_time(departure), b"false"
        if arr is None and dep is None:
            arr = dep = self.ctx.estimates.get(trip_id, seq)
            if arr is None:
                return  # no timed stop on one side: not listed
            estimated = b"true"
        fixed = (
            estimated,
            b"0" if pickup is None else str(int(pickup)).encode(),
            b"0" if drop_off is None else str(int(drop_off)).encode(),
            info[5] + stop_json + b',"stop_sequence":' + str(seq).encode() + info[6],
        )
        periods = self.ctx.frequencies.get(trip_id)
        if periods is None:
            week = self._cell(row, info, fixed, dep, None) if self.week else None
            self._run(trip_id, seq, arr, dep, info, clock, fixed, b"null", week)
            return
        first, runs = periods
        for start, end, headway, exact in runs:
            frequency = {"exact_times": exact, "headway_secs": headway}
            period = self._cell(row, info, fixed, dep, frequency) if self.week else None
            for begin in range(start, end, headway):
                shift = begin - first
                freq = b'{"exact_times":%d,"headway_secs":%d,"start_time":"%s"}' % (
                    exact,
                    headway,
                    gtfs_time(begin).encode(),
                )
                self._run(
                    trip_id,
                    seq,
                    None if arr is None else arr + shift,
                    None if dep is None else dep + shift,
                    info,
                    clock,
                    fixed,
                    freq,
                    period,
                )

    def _cell(
        self, row: Sequence[Any], info: TripInfo, fixed: tuple[bytes, ...], dep: int | None, frequency: Any
    ) -> Cell:
        """The visit's part of its rows in the stop's week (--site), from what its JSON says: the note
        comes from the fields board_week.note reads in a board's departure. Visits alike share one."""
        key = (
            info[1],
            info[7],
            row[1],
            dep is None,
            fixed[0],
            fixed[1],
            fixed[2],
            frequency and tuple(frequency.values()),
        )
        found = self._cells.get(key)
        if found is None:
            departure = {
                "departure": dep,
                "estimated": fixed[0] == b"true",
                "pickup_type": int(fixed[1]),
                "drop_off_type": int(fixed[2]),
                "frequency": frequency,
            }
            found = self._cells[key] = cell(info[1], info[7], row[1], departure)
        return found

    def _run(
        self,
        trip_id: str,
        seq: int,
        arr: int | None,
        dep: int | None,
        info: TripInfo,
        clock: ZoneClock,
        fixed: tuple[bytes, bytes, bytes, bytes],
        freq: bytes,
        week: Cell | None,
    ) -> None:
        when = dep if dep is not None else arr
        assert when is not None
        refs, dates = info[0]
        lo, hi = bisect_left(refs, self.low - when), bisect_left(refs, self.high - when)
        if lo == hi:
            return
        estimated, pickup, drop_off, tail = fixed
        middle_a = b',"arrival_time":' + time_json(arr) + b',"departure":'
        middle_b = b"".join(
            (
                b',"departure_time":',
                time_json(dep),
                b',"direction_id":',
                info[2],
                b',"drop_off_type":',
                drop_off,
                b',"estimated":',
                estimated,
                b',"frequency":',
                freq,
                b',"href":',
                info[3],
                b',"pickup_type":',
                pickup,
                b',"route_id":',
                info[4],
                b',"service_date":"',
            )
        )
        # each departure also carries its row's ISO time and the visit's cell, used with --site only: one
        # loop for both builds costs a plain build less than a second call per visit costs the site's
        day_of, first_day, boards, iso = self.board_clock.local_day, self.first_day, self.boards, clock.iso
        for i in range(lo, hi):
            ref = refs[i]
            instant = ref + when
            day = day_of(instant) - first_day
            if 0 <= day < len(boards):
                a = b"null" if arr is None else iso(ref + arr)
                d = b"null" if dep is None else iso(ref + dep)
                json = b"".join((b'{"arrival":', a, middle_a, d, middle_b, dates[i], tail))
                boards[day].append((instant, trip_id, seq, json, a if dep is None else d, week))
                self.routes[day].add(info[1])
