"""The route-and-trip pass: one sorted walk makes every trip-stops list and every route tree.

It merges sorted streams (routes with their trips with their stop times) with itertools.groupby, keeping
one route's rows at a time. Streams sort by id in byte order (SQLite's BINARY, PostgreSQL's COLLATE "C"),
which is also Python's str order, so the merge can compare ids directly and notice rows that point at
nothing. Declared in builder.snapshot.kinds as the pass making the kinds `route` and `trip`, and, from the same walk,
`timetable` and `route_geojson` (builder.snapshot.timetables, builder.snapshot.geojson).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter

import orjson
from sqlalchemy import Connection

from builder.release.output import Streamed
from builder.snapshot.geojson import RouteShapes, route_geojson
from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.passkit import LATE, Made, PassInput, Problems, time_key
from builder.snapshot.rows import compile_shaper
from builder.snapshot.source import EVERYTHING, KeyRange, Source
from builder.snapshot.spool import SortedParking, Spool
from builder.snapshot.timetables import DayTypes, RouteSchedule, day_types, timetable_document


def views(inp: PassInput) -> Iterator[Made]:
    return route_and_trip_views(inp.source, inp.conn, inp.lookups, inp.problems, inp.span, spool=inp.spool)


def route_and_trip_views(
    source: Source,
    conn: Connection,
    lk: Lookups,
    problems: Problems,
    span: KeyRange = EVERYTHING,
    *,
    spool: Spool,
) -> Iterator[Made]:
    """Every trip-stops list, then the route tree, timetables and map of its route, route by route (routes
    within `span`).

    A route tree's trips are parked in `spool`: write each tree before asking for the next view."""
    cols = source.columns("routes")
    route_shape = compile_shaper(
        "routes",
        cols,
        "Route",
        typed=source.typed_columns("routes"),
        extra={"href": f"_href('route', r[{cols.index('route_id')}])"},
    )
    walk = TripsByRoute(source, conn, span)
    days_of, shapes = day_types(lk.services), RouteShapes(source, conn, span)
    routes_stmt = source.select_all("routes", "route_id").where(
        *source.within(source.table("routes").c.route_id, span)
    )
    for route in map(route_shape, source.rows(conn, routes_stmt)):
        rid, route_trips, schedule = route["route_id"], RouteTrips(spool), RouteSchedule(lk)
        for trip, sts in walk.trips_of(rid):
            yield "trip", trip["trip_id"], trip_document(trip, sts, lk, problems)
            route_trips.add(trip, sts, lk)
            schedule.add(trip, sts)
        yield "route", rid, route_document(route, route_trips, lk)
        yield from schedule_views(route, schedule, days_of, shapes)
    if walk.left_over():
        problems.add(
            "trips or stop_times are not in id order with their routes: is the database's "
            "collation byte order? (trips.route_id must all be in routes)"
        )


class TripsByRoute:
    """Each route's trips with their stop times, as the routes come: two streams sorted like the routes
    (trips by route_id, trip_id; stop_times by route, trip, stop_sequence), merged with groupby, so one
    trip's rows are held at a time."""

    def __init__(self, source: Source, conn: Connection, span: KeyRange) -> None:
        trip_cols, st_cols = source.columns("trips"), source.columns("stop_times")
        self._trip_shape = compile_shaper(
            "trips",
            trip_cols,
            "Trip",
            typed=source.typed_columns("trips"),
            extra={"href": f"_href('trip', r[{trip_cols.index('trip_id')}])"},
        )
        self._st_shape = compile_shaper(
            "stop_times",
            st_cols,
            "StopTime",
            typed=source.typed_columns("stop_times"),
            skip=frozenset({"trip_id"}),
        )
        trips_stmt = source.select_all("trips", "route_id", "trip_id").where(
            *source.within(source.table("trips").c.route_id, span)
        )
        self._trips = groupby(source.rows(conn, trips_stmt), itemgetter(trip_cols.index("route_id")))
        self._stop_times = groupby(
            source.rows(conn, source.stop_times_by_route(span)), itemgetter(st_cols.index("trip_id"))
        )
        self._next_trips, self._next_st = next(self._trips, None), next(self._stop_times, None)

    def trips_of(self, route_id: str) -> Iterator[tuple[Doc, list[Doc]]]:
        """The route's trips, each with its stop times; read to the end before asking for the next route."""
        if self._next_trips is None or self._next_trips[0] != route_id:
            return
        for trip in map(self._trip_shape, self._next_trips[1]):
            sts: list[Doc] = []
            if self._next_st is not None and self._next_st[0] == trip["trip_id"]:
                sts = list(map(self._st_shape, self._next_st[1]))
                self._next_st = next(self._stop_times, None)
            yield trip, sts
        self._next_trips = next(self._trips, None)

    def left_over(self) -> bool:
        """Rows the routes never reached: the streams were not in the routes' order."""
        return self._next_trips is not None or self._next_st is not None


def schedule_views(
    route: Doc, schedule: RouteSchedule, days_of: DayTypes, shapes: RouteShapes
) -> Iterator[Made]:
    """A route's timetables and its map, from the trips the pass collected for its tree."""
    rid = route["route_id"]
    yield "timetable", rid, timetable_document(route, schedule, days_of)
    yield "route_geojson", rid, route_geojson(route, schedule, shapes.take(rid))


def trip_document(trip: Doc, sts: list[Doc], lk: Lookups, problems: Problems) -> Doc:
    with_stops = []
    for st in sts:
        stop = lk.stops.get(st["stop_id"])
        if stop is None:
            problems.add(f"stop_times: trip {trip['trip_id']!r} stops at {st['stop_id']!r}, not in stops")
        with_stops.append(dict(st, stop=stop))
    return {
        "trip": trip,
        "route": lk.routes[trip["route_id"]],
        "service": lk.services.get(trip["service_id"]),
        "frequencies": lk.frequencies.get(trip["trip_id"], []),
        "stop_times": with_stops,
    }


class RouteTrips:
    """One route's trips, each kept as its finished JSON (the same bytes orjson writes for the dict) with
    its sort key, parked in the spool past a few MB: the largest route costs neither millions of dicts
    nor its whole tree in memory."""

    def __init__(self, spool: Spool) -> None:
        self.trips = SortedParking(spool)
        self.stop_ids: set[str] = set()
        self.service_ids: set[str] = set()

    def add(self, trip: Doc, sts: list[Doc], lk: Lookups) -> None:
        doc = dict(trip, stop_times=sts)
        periods = lk.frequencies.get(trip["trip_id"])
        if periods:
            doc["frequencies"] = periods
        direction = trip["direction_id"]
        key = (-1 if direction is None else direction), _first_time(sts), trip["trip_id"]
        self.trips.add(key, orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
        self.stop_ids.update(st["stop_id"] for st in sts)
        self.service_ids.add(trip["service_id"])


def _first_time(sts: list[Doc]) -> tuple[int, str]:
    for st in sts:
        t = st["departure_time"] or st["arrival_time"]
        if t is not None:
            return time_key(t)
    return LATE


def route_document(route: Doc, trips: RouteTrips, lk: Lookups) -> Streamed:
    stops = {sid: lk.stops[sid] for sid in trips.stop_ids if sid in lk.stops}
    services = {sid: lk.services[sid] for sid in trips.service_ids if sid in lk.services}
    head = {
        "route": route,
        "agency": lk.agencies.get(route["agency_id"]),
        "stops": stops,
        "services": services,
    }
    return Streamed(head, "trips", trips.trips.in_order())
