"""The three views, streamed: one sorted pass makes every trip-stops list and route tree, another every
stop-trips view.

Each pass merges sorted streams (routes with their trips with their stop times; stops with their visits)
with itertools.groupby, keeping one route's or one stop's rows at a time. Streams sort by id in byte order
(SQLite's BINARY, PostgreSQL's COLLATE "C"), which is also Python's str order, so the merges can compare
ids directly and notice stop times that point at nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, select

from builder.geojson import ROUTE_GEOJSON_KIND, RouteShapes, route_geojson, route_geojson_href
from builder.keys import href_for
from builder.lookups import Doc, Lookups
from builder.output import Streamed
from builder.shapes import compile_shaper, pad_time
from builder.source import EVERYTHING, KeyRange, Source
from builder.spool import SortedParking, Spool
from builder.timetables import TIMETABLE_KIND, DayTypes, RouteSchedule, day_types, timetable_document

View = tuple[str, str, Doc | Streamed]  # (kind, id, document)
LATE = (1 << 30, "")  # sort key of a visit or trip without any time: after every timed one


def document_path(kind: str, id_: str) -> str:
    """Where a view is written (and its URL): `<kind>s/<key>.json`, a route's map `routes/<key>.geojson`."""
    return route_geojson_href(id_) if kind == ROUTE_GEOJSON_KIND else href_for(kind, id_)


def time_key(t: str | None) -> tuple[int, str]:
    # Zero-padded times compare as text once their lengths agree; hours may pass 24 (and even 99).
    return LATE if t is None else (len(t), t)


class Problems(list[str]):
    """Integrity problems met during the walk; the build refuses to publish if any were found."""

    LIMIT = 50

    def add(self, message: str) -> None:
        if len(self) < self.LIMIT:
            self.append(message)


def route_and_trip_views(source: Source, conn: Connection, lk: Lookups, problems: Problems,
                         span: KeyRange = EVERYTHING, *, spool: Spool) -> Iterator[View]:
    """Every trip-stops list, then the route tree, timetables and map of its route, route by route (routes
    within `span`).

    A route tree's trips are parked in `spool`: write each tree before asking for the next view."""
    cols = {t: source.columns(t) for t in ("routes", "trips", "stop_times")}
    route_shape = compile_shaper("routes", cols["routes"], "Route", typed=source.typed_columns("routes"),
                                 extra={"href": f"_href('route', r[{cols['routes'].index('route_id')}])"})
    trip_shape = compile_shaper("trips", cols["trips"], "Trip", typed=source.typed_columns("trips"),
                                extra={"href": f"_href('trip', r[{cols['trips'].index('trip_id')}])"})
    st_shape = compile_shaper("stop_times", cols["stop_times"], "StopTime",
                              typed=source.typed_columns("stop_times"), skip=frozenset({"trip_id"}))
    trip_route = cols["trips"].index("route_id")
    trips_stmt = source.select_all("trips", "route_id", "trip_id").where(
        *source.within(source.table("trips").c.route_id, span))
    trips = groupby(source.rows(conn, trips_stmt), itemgetter(trip_route))
    stop_times = groupby(source.rows(conn, source.stop_times_by_route(span)),
                         itemgetter(cols["stop_times"].index("trip_id")))
    next_trips, next_st = next(trips, None), next(stop_times, None)
    days_of, shapes = day_types(lk.services), RouteShapes(source, conn, span)
    routes_stmt = source.select_all("routes", "route_id").where(
        *source.within(source.table("routes").c.route_id, span))
    for route in map(route_shape, source.rows(conn, routes_stmt)):
        rid, route_trips, schedule = route["route_id"], RouteTrips(spool), RouteSchedule(lk)
        if next_trips is not None and next_trips[0] == rid:
            for trip in map(trip_shape, next_trips[1]):
                sts: list[Doc] = []
                if next_st is not None and next_st[0] == trip["trip_id"]:
                    sts = list(map(st_shape, next_st[1]))
                    next_st = next(stop_times, None)
                yield "trip", trip["trip_id"], trip_document(trip, sts, lk, problems)
                route_trips.add(trip, sts, lk)
                schedule.add(trip, sts)
            next_trips = next(trips, None)
        yield "route", rid, route_document(route, route_trips, lk)
        yield from schedule_views(route, schedule, days_of, shapes)
    if next_trips is not None or next_st is not None:
        problems.add("trips or stop_times are not in id order with their routes: is the database's "
                     "collation byte order? (trips.route_id must all be in routes)")


def schedule_views(route: Doc, schedule: RouteSchedule, days_of: DayTypes,
                   shapes: RouteShapes) -> Iterator[View]:
    """A route's timetables and its map, from the trips the pass collected for its tree."""
    rid = route["route_id"]
    yield TIMETABLE_KIND, rid, timetable_document(route, schedule, days_of)
    yield ROUTE_GEOJSON_KIND, rid, route_geojson(route, schedule, shapes.take(rid))


def trip_document(trip: Doc, sts: list[Doc], lk: Lookups, problems: Problems) -> Doc:
    with_stops = []
    for st in sts:
        stop = lk.stops.get(st["stop_id"])
        if stop is None:
            problems.add(f"stop_times: trip {trip['trip_id']!r} stops at {st['stop_id']!r}, not in stops")
        with_stops.append(dict(st, stop=stop))
    return {"trip": trip, "route": lk.routes[trip["route_id"]], "service": lk.services.get(trip["service_id"]),
            "frequencies": lk.frequencies.get(trip["trip_id"], []), "stop_times": with_stops}


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
    head = {"route": route, "agency": lk.agencies.get(route["agency_id"]), "stops": stops, "services": services}
    return Streamed(head, "trips", trips.trips.in_order())


def stop_views(source: Source, conn: Connection, lk: Lookups, problems: Problems,
               span: KeyRange = EVERYTHING) -> Iterator[View]:
    """Every stop-trips view, stop by stop (stops within `span`), with its visits in time order."""
    trips = _visit_fields(source, conn)
    cols = source.columns("stops")
    stop_shape = compile_shaper("stops", cols, "Stop", typed=source.typed_columns("stops"),
                                extra={"href": f"_href('stop', r[{cols.index('stop_id')}])"})
    children = _children(source, conn, lk)
    stops_stmt = source.select_all("stops", "stop_id").where(*source.within(source.table("stops").c.stop_id, span))
    stops = list(map(stop_shape, source.rows(conn, stops_stmt)))
    columns = ["stop_id", "trip_id", "stop_sequence", "arrival_time", "departure_time"]
    groups = groupby(source.rows(conn, source.stop_times_by_stop(columns, span)), itemgetter(0))
    group = next(groups, None)
    for stop in stops:
        sid, visits = stop["stop_id"], []
        while group is not None and group[0] < sid:
            problems.add(f"stop_times: stop_id {group[0]!r} is not in stops")
            group = next(groups, None)
        if group is not None and group[0] == sid:
            visits = _visits(group[1], trips, problems)
            group = next(groups, None)
        yield "stop", sid, stop_document(stop, visits, children.get(sid, []), lk)
    for orphan in groups if group is None else [group, *groups]:
        problems.add(f"stop_times: stop_id {orphan[0]!r} is not in stops")


def _children(source: Source, conn: Connection, lk: Lookups) -> dict[str, list[Doc]]:
    """parent_station -> the summaries of the stops inside it (a parent may sit in another range)."""
    children: dict[str, list[Doc]] = {}
    if "parent_station" not in source.columns("stops"):
        return children
    t = source.table("stops")
    stmt = select(t.c.stop_id, t.c.parent_station).where(t.c.parent_station.is_not(None)).order_by(
        source.by_id(t.c.stop_id))
    for stop_id, parent in source.rows(conn, stmt):
        children.setdefault(parent, []).append(lk.stops[stop_id])
    return children


TripFields = tuple[Any, Any, Any, Any, str]  # route_id, service_id, trip_headsign, direction_id, href


def _visit_fields(source: Source, conn: Connection) -> dict[str, TripFields]:
    """trip_id -> the trip fields every visit repeats (StopVisit's), href included.

    Every stop worker holds this for all trips (58k on mta_bus_brooklyn): tuples whose repeated values
    (routes, services, headsigns) are one shared object each keep it a fraction of a dict per trip."""
    fields = ["trip_id", "route_id", "service_id", "trip_headsign", "direction_id"]
    cols = source.columns("trips")
    shape = compile_shaper("trips", [f for f in fields if f in cols], "StopVisit",
                           typed=source.typed_columns("trips"), extra={"href": "_href('trip', r[0])"})
    stmt = source.select_all("trips").with_only_columns(*(source.table("trips").c[f] for f in fields if f in cols))
    shared: dict[Any, Any] = {}
    one = shared.setdefault
    return {doc["trip_id"]: (one(doc["route_id"], doc["route_id"]), one(doc["service_id"], doc["service_id"]),
                             one(doc["trip_headsign"], doc["trip_headsign"]), doc["direction_id"], doc["href"])
            for doc in map(shape, source.rows(conn, stmt))}


def _visits(rows: Iterable[Sequence[Any]], trips: dict[str, TripFields], problems: Problems) -> list[Doc]:
    """One stop's visits in time order: departure (else arrival; untimed last), trip_id, stop_sequence."""
    keyed = []
    for _, trip_id, seq, arrival, departure in rows:
        trip = trips.get(trip_id)
        if trip is None:
            problems.add(f"stop_times: trip_id {trip_id!r} is not in trips")
            continue
        arrival, departure = pad_time(arrival), pad_time(departure)
        visit = {"trip_id": trip_id, "route_id": trip[0], "service_id": trip[1], "trip_headsign": trip[2],
                 "direction_id": trip[3], "stop_sequence": seq, "arrival_time": arrival,
                 "departure_time": departure, "href": trip[4]}
        keyed.append((time_key(departure or arrival), trip_id, seq, visit))
    keyed.sort(key=itemgetter(0, 1, 2))
    return [k[3] for k in keyed]


def stop_document(stop: Doc, visits: list[Doc], children: list[Doc], lk: Lookups) -> Doc:
    parent_id = stop.get("parent_station")
    detail = dict(stop, parent=lk.stops.get(parent_id) if parent_id else None, children=children)
    routes = {v["route_id"]: lk.routes[v["route_id"]] for v in visits}
    services = {v["service_id"]: lk.services[v["service_id"]] for v in visits if v["service_id"] in lk.services}
    return {"stop": detail, "trips": visits, "routes": routes, "services": services}
