"""The stop pass: one sorted walk makes every stop-trips view, stop by stop, its visits in time order.

Stops and their visits (stop_times ordered by stop) are merged with itertools.groupby, one stop's rows
at a time; ids sort in byte order, which is Python's str order, so stop times pointing at no stop are
noticed on the way. Declared in builder.snapshot.kinds as the pass making the kind `stop`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, select

from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.passkit import Made, PassInput, Problems, time_key
from builder.snapshot.rows import compile_shaper, pad_time
from builder.snapshot.source import EVERYTHING, KeyRange, Source


def views(inp: PassInput) -> Iterator[Made]:
    return stop_views(inp.source, inp.conn, inp.lookups, inp.problems, inp.span)


def stop_views(
    source: Source, conn: Connection, lk: Lookups, problems: Problems, span: KeyRange = EVERYTHING
) -> Iterator[Made]:
    """Every stop-trips view, stop by stop (stops within `span`), with its visits in time order."""
    trips = _visit_fields(source, conn)
    cols = source.columns("stops")
    stop_shape = compile_shaper(
        "stops",
        cols,
        "Stop",
        typed=source.typed_columns("stops"),
        extra={"href": f"_href('stop', r[{cols.index('stop_id')}])"},
    )
    children = _children(source, conn, lk)
    stops_stmt = source.select_all("stops", "stop_id").where(
        *source.within(source.table("stops").c.stop_id, span)
    )
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
    stmt = (
        select(t.c.stop_id, t.c.parent_station)
        .where(t.c.parent_station.is_not(None))
        .order_by(source.by_id(t.c.stop_id))
    )
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
    shape = compile_shaper(
        "trips",
        [f for f in fields if f in cols],
        "StopVisit",
        typed=source.typed_columns("trips"),
        extra={"href": "_href('trip', r[0])"},
    )
    stmt = source.select_all("trips").with_only_columns(
        *(source.table("trips").c[f] for f in fields if f in cols)
    )
    shared: dict[Any, Any] = {}
    one = shared.setdefault
    return {
        doc["trip_id"]: (
            one(doc["route_id"], doc["route_id"]),
            one(doc["service_id"], doc["service_id"]),
            one(doc["trip_headsign"], doc["trip_headsign"]),
            doc["direction_id"],
            doc["href"],
        )
        for doc in map(shape, source.rows(conn, stmt))
    }


def _visits(rows: Iterable[Sequence[Any]], trips: dict[str, TripFields], problems: Problems) -> list[Doc]:
    """One stop's visits in time order: departure (else arrival; untimed last), trip_id, stop_sequence."""
    keyed = []
    for _, trip_id, seq, arrival, departure in rows:
        trip = trips.get(trip_id)
        if trip is None:
            problems.add(f"stop_times: trip_id {trip_id!r} is not in trips")
            continue
        arrival, departure = pad_time(arrival), pad_time(departure)
        visit = {
            "trip_id": trip_id,
            "route_id": trip[0],
            "service_id": trip[1],
            "trip_headsign": trip[2],
            "direction_id": trip[3],
            "stop_sequence": seq,
            "arrival_time": arrival,
            "departure_time": departure,
            "href": trip[4],
        }
        keyed.append((time_key(departure or arrival), trip_id, seq, visit))
    keyed.sort(key=itemgetter(0, 1, 2))
    return [k[3] for k in keyed]


def stop_document(stop: Doc, visits: list[Doc], children: list[Doc], lk: Lookups) -> Doc:
    parent_id = stop.get("parent_station")
    detail = dict(stop, parent=lk.stops.get(parent_id) if parent_id else None, children=children)
    routes = {v["route_id"]: lk.routes[v["route_id"]] for v in visits}
    services = {
        v["service_id"]: lk.services[v["service_id"]] for v in visits if v["service_id"] in lk.services
    }
    return {"stop": detail, "trips": visits, "routes": routes, "services": services}
