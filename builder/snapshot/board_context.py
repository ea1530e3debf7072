"""What every departure board refers to, read once before the boards pass's processes fork.

Small next to stop_times: per trip the JSON pieces its departures repeat, per (service, zone) the
reference instants of the dates it runs near the window, per stop its zone, per frequency trip its
periods and first departure, and the interpolated times of rows without any (builder.snapshot.estimates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, func, null, select

from builder.snapshot.calendars import Window, format_date, resolve_services
from builder.snapshot.clock import DAY, ZoneClock, local_midnight, parse_gtfs_time, reference_instant
from builder.snapshot.estimates import Estimates, load_estimates
from builder.snapshot.kinds import href
from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.source import Source

DEFAULT_ZONE = "UTC"  # only for a feed without any agency_timezone, which GTFS does not allow


def small_json(value: Any) -> bytes:
    """orjson.dumps(value) in a bytes object of its own size: orjson 3.13 leaves a small result in its
    4 KB output buffer, which 58k trips' pieces would turn into 235 MB (measured on mta_bus_brooklyn)."""
    return bytes(memoryview(orjson.dumps(value)))


# (reference instants, sorted; the matching service dates as JSON bytes without quotes)
Timetable = tuple[list[int], list[bytes]]
# timetable, route_id, then JSON pieces: direction_id, href, route_id, '"…service_id…,"stop_id":',
# ',"trip_headsign":…,"trip_id":…}'; then the headsign (for the site's rows, builder.snapshot.board_week)
TripInfo = tuple[Timetable, str, bytes, bytes, bytes, bytes, bytes, str | None]
Period = tuple[int, int, int, int]  # start, end (exclusive), headway_secs, exact_times


@dataclass
class BoardContext:
    window: Window
    lookups: Lookups
    feed_zone: str
    trips: dict[str, TripInfo]
    zones: dict[str, str]  # stop_id -> the zone its times are shown in
    stations: frozenset[str]  # stations (location_type 1) that have stops inside them
    frequencies: dict[str, tuple[int, list[Period]]]  # trip_id -> (first departure, periods)
    estimates: Estimates
    clocks: dict[str, ZoneClock] = field(default_factory=dict)
    # with --site (builder.snapshot.boards.prepare): route_id -> the route as a stop page's boards show
    # it, and the same for a route the feed lacks; None: no stop_week documents
    route_rows: dict[str, list[str]] | None = None
    unknown_route: Callable[[str], list[str]] | None = None

    def clock(self, zone: str) -> ZoneClock:
        found = self.clocks.get(zone)
        if found is None:
            found = self.clocks[zone] = ZoneClock(zone)
        return found

    def bounds(self, zone: str) -> tuple[int, int]:
        """Instants surely before and after the window in `zone` (a day of margin for any offset)."""
        dates = self.window.dates()
        z = self.clock(zone).zone
        return (local_midnight(dates[0], z) - DAY, local_midnight(dates[-1] + timedelta(days=1), z) + DAY)


def feed_zone(agencies: Mapping[str | None, Doc]) -> str:
    """The feed's timezone: the first agency's (by agency_id); all agencies of a valid feed share one.
    Takes the agencies alone (builder.snapshot.lookups.load_agencies), so the build's default window costs one
    small table at start-up, not every lookup."""
    ordered = sorted({id(a): a for a in agencies.values()}.values(), key=lambda a: a.get("agency_id") or "")
    return next((a["agency_timezone"] for a in ordered if a.get("agency_timezone")), DEFAULT_ZONE)


def load_board_context(source: Source, conn: Connection, lk: Lookups, window: Window) -> BoardContext:
    zone = feed_zone(lk.agencies)
    frequencies = _frequencies(source, conn, lk)
    longest = _latest_time(source, conn) + max(
        (p[1] for _, periods in frequencies.values() for p in periods), default=0
    )
    # Service dates whose times can reach the window: times may pass 48:00, and frequency runs shift them.
    earliest = window.first - timedelta(days=longest // DAY + 2)
    latest = window.first + timedelta(days=window.days + 1)
    context = BoardContext(
        window,
        lk,
        zone,
        {},
        _stop_zones(source, conn, zone),
        _stations(source, conn),
        frequencies,
        load_estimates(source, conn),
    )
    context.trips = _trips(source, conn, lk, context, earliest, latest)
    return context


def _route_zones(lk: Lookups, zone: str) -> dict[str, str]:
    """route_id -> its agency's timezone (the feed's when the agency is missing)."""
    out = {}
    for rid, route in lk.routes.items():
        agency = lk.agencies.get(route.get("agency_id")) or lk.agencies.get(None)
        out[rid] = (agency or {}).get("agency_timezone") or zone
    return out


def _trips(
    source: Source, conn: Connection, lk: Lookups, context: BoardContext, earliest: date, latest: date
) -> dict[str, TripInfo]:
    """trip_id -> what its departures repeat: one shared timetable per (service, zone) and JSON pieces
    (route ids, directions and service pieces shared between trips: 58k trips on mta_bus_brooklyn)."""
    route_zones = _route_zones(lk, context.feed_zone)
    dates = {
        sid: sorted(d for d in ds if earliest <= d <= latest)
        for sid, ds in resolve_services(lk.services).items()
    }
    timetables: dict[tuple[str | None, str], Timetable] = {}
    shared: dict[tuple[bytes, Any], bytes] = {}

    def piece(value: Any, before: bytes = b"", after: bytes = b"") -> bytes:
        found = shared.get((before, value))
        if found is None:
            found = shared[before, value] = (
                small_json(value) if not before else before + orjson.dumps(value) + after
            )
        return found

    t = source.table("trips")
    wanted = ("trip_id", "route_id", "service_id", "trip_headsign", "direction_id")
    stmt = select(*(t.c[c] if c in t.c else null().label(c) for c in wanted))
    out: dict[str, TripInfo] = {}
    for trip_id, route_id, service_id, headsign, direction in source.rows(conn, stmt):
        tid, rid, sid = str(trip_id), str(route_id), None if service_id is None else str(service_id)
        zone = route_zones.get(rid, context.feed_zone)
        table = timetables.get((sid, zone))
        if table is None:
            table = timetables[sid, zone] = _timetable(dates.get(sid, []) if sid else [], context.clock(zone))
        direction = None if direction in (None, "") else int(direction)
        tail = (
            b',"trip_headsign":'
            + orjson.dumps(None if headsign is None else str(headsign))
            + b',"trip_id":'
            + orjson.dumps(tid)
            + b"}"
        )
        out[tid] = (
            table,
            rid,
            piece(direction),
            small_json(href("trip", tid)),
            piece(rid),
            piece(sid, b'","service_id":', b',"stop_id":'),
            tail,
            None if headsign is None else str(headsign),
        )
    return out


def _timetable(dates: list[date], clock: ZoneClock) -> Timetable:
    refs = [reference_instant(d, clock.zone) for d in dates]
    return refs, [format_date(d).encode() for d in dates]


def _stop_zones(source: Source, conn: Connection, feed: str) -> dict[str, str]:
    """stop_id -> zone: a stop inside another takes that one's stop_timezone, else its own, else the feed's."""
    t = source.table("stops")
    parent = t.c.parent_station if "parent_station" in t.c else None
    own = t.c.stop_timezone if "stop_timezone" in t.c else None
    if own is None:
        return {}
    rows = list(source.rows(conn, select(t.c.stop_id, own, parent if parent is not None else own)))
    declared = {r[0]: r[1] for r in rows if r[1]}
    out = {}
    for stop_id, zone, up in rows:
        chosen = (declared.get(up) if parent is not None and up else None) or zone
        if chosen:
            out[stop_id] = chosen
    return out


def _stations(source: Source, conn: Connection) -> frozenset[str]:
    t = source.table("stops")
    if "parent_station" not in t.c or "location_type" not in t.c:
        return frozenset()
    station = t.alias("station")
    stmt = (
        select(station.c.stop_id, station.c.location_type)
        .distinct()
        .join_from(t, station, t.c.parent_station == station.c.stop_id)
    )
    return frozenset(
        sid for sid, kind in source.rows(conn, stmt) if kind is not None and str(kind).strip() == "1"
    )


def _latest_time(source: Source, conn: Connection) -> int:
    """The latest arrival or departure of any stop time, in seconds (one scan, no sort)."""
    st, latest = source.table("stop_times"), 0
    for c in (st.c.arrival_time, st.c.departure_time):
        stmt = (
            select(c).where(c.is_not(None)).order_by(func.length(c).desc(), source.by_id(c).desc()).limit(1)
        )
        value = conn.execute(stmt).scalar()
        latest = max(latest, parse_gtfs_time(None if value is None else str(value)) or 0)
    return latest


def _frequencies(source: Source, conn: Connection, lk: Lookups) -> dict[str, tuple[int, list[Period]]]:
    if not lk.frequencies:
        return {}
    periods: dict[str, list[Period]] = {}
    for tid, rows in lk.frequencies.items():
        runs = [
            (
                parse_gtfs_time(f["start_time"]) or 0,
                parse_gtfs_time(f["end_time"]) or 0,
                f["headway_secs"],
                f.get("exact_times") or 0,
            )
            for f in rows
            if (f.get("headway_secs") or 0) > 0
        ]
        if runs:
            periods[tid] = runs
    return {tid: (first, periods[tid]) for tid, first in _first_departures(source, conn, set(periods))}


def _first_departures(source: Source, conn: Connection, trip_ids: set[str]) -> Iterator[tuple[str, int]]:
    """(trip_id, its first timed stop's departure, else that stop's arrival) for the given trips."""
    st, freq = source.table("stop_times"), source.table("frequencies")
    ids = select(freq.c.trip_id).distinct().subquery()
    stmt = (
        select(st.c.trip_id, st.c.arrival_time, st.c.departure_time)
        .join_from(st, ids, st.c.trip_id == ids.c.trip_id)
        .order_by(source.by_id(st.c.trip_id), st.c.stop_sequence)
    )
    for tid, rows in groupby(source.rows(conn, stmt), itemgetter(0)):
        if tid not in trip_ids:
            continue
        for _, arrival, departure in rows:
            first = parse_gtfs_time(departure)
            first = parse_gtfs_time(arrival) if first is None else first
            if first is not None:
                yield tid, first
                break
