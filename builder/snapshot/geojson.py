"""GeoJSON (RFC 7946, application/geo+json): routes/<route-key>.geojson and stops.geojson (kinds
`route_geojson`, made by the route-and-trip pass, and `stops_geojson`, by the index pass).

A route's map: a LineString per distinct shape its trips use, its points in shape_pt_sequence order and
coordinates [lon, lat] exactly as the database holds them; for trips without a usable shape (no shape_id,
or one with fewer than two points) a LineString per distinct stop pattern through the stops' coordinates
(`from_stops` true); a Point per stop the route serves. shapes.txt is streamed once per pass, sorted by
route and shape and merged with the route stream like the other tables, so only one route's shapes are
ever held (mta_bus_brooklyn: hundreds of thousands of points in all).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, select

from builder.release.output import DUMP_OPTIONS, Streamed
from builder.snapshot.lookups import Doc
from builder.snapshot.rows import compile_shaper
from builder.snapshot.source import EVERYTHING, KeyRange, Source
from builder.snapshot.stop_order import Pattern
from builder.snapshot.timetables import RouteSchedule, TripRecord

Position = list[float]


class RouteShapes:
    """The points of every shape the trips of each route use, route by route in byte order of route_id
    (the order of the route stream), each shape's points in shape_pt_sequence order."""

    def __init__(self, source: Source, conn: Connection, span: KeyRange = EVERYTHING) -> None:
        self._groups: Iterator[tuple[Any, Iterator[Sequence[Any]]]] = iter(())
        if source.has("shapes"):
            self._groups = groupby(source.rows(conn, _shape_points(source, span)), itemgetter(0))
        self._next = next(self._groups, None)

    def take(self, route_id: str) -> dict[str, list[Position]]:
        """route_id's shapes (shape_id -> positions); call with ascending route_ids."""
        while self._next is not None and self._next[0] < route_id:
            self._next = next(self._groups, None)  # trips of a route not in routes: refused elsewhere
        if self._next is None or self._next[0] != route_id:
            return {}
        shapes = {
            shape_id: [
                [_number(lon), _number(lat)]
                for _, _, lon, lat in points
                if lon is not None and lat is not None
            ]
            for shape_id, points in groupby(self._next[1], itemgetter(1))
        }
        self._next = next(self._groups, None)
        return shapes


def _shape_points(source: Source, span: KeyRange) -> Any:
    trips, shapes = source.table("trips"), source.table("shapes")
    used = (
        select(trips.c.route_id, trips.c.shape_id)
        .distinct()
        .where(trips.c.shape_id.is_not(None), *source.within(trips.c.route_id, span))
        .subquery()
    )
    return (
        select(used.c.route_id, shapes.c.shape_id, shapes.c.shape_pt_lon, shapes.c.shape_pt_lat)
        .join_from(used, shapes, shapes.c.shape_id == used.c.shape_id)
        .order_by(source.by_id(used.c.route_id), source.by_id(shapes.c.shape_id), shapes.c.shape_pt_sequence)
    )


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) else float(value)  # a foreign database's text


def route_geojson(route: Doc, schedule: RouteSchedule, shapes: dict[str, list[Position]]) -> Doc:
    """The route's FeatureCollection: shape lines by shape_id, then from-stops lines by stop pattern, then
    stop Points by stop_id."""
    by_shape: dict[str, list[TripRecord]] = {}
    by_pattern: dict[Pattern, list[TripRecord]] = {}
    for trip in schedule.trips:
        if trip.shape_id is not None and len(shapes.get(trip.shape_id, ())) >= 2:
            by_shape.setdefault(trip.shape_id, []).append(trip)
        else:
            by_pattern.setdefault(trip.stops, []).append(trip)
    color = route.get("route_color")
    stops = schedule.lk.stops
    features = [
        _line(shapes[sid], sid, route["route_id"], color, trips) for sid, trips in sorted(by_shape.items())
    ]
    for pattern, trips in sorted(by_pattern.items()):
        positions = [p for p in (_position(stops.get(s)) for s in pattern) if p is not None]
        if len(positions) == len(pattern) >= 2:  # a line only through stops that all have coordinates
            features.append(_line(positions, None, route["route_id"], color, trips))
    served = sorted({s for pattern in {t.stops for t in schedule.trips} for s in pattern})
    features += [
        _point(stops[s], {"stop_id": s, "stop_name": stops[s]["stop_name"], "href": stops[s]["href"]})
        for s in served
        if _position(stops.get(s))
    ]
    return {"type": "FeatureCollection", "features": features}


def _line(
    positions: list[Position], shape_id: str | None, route_id: str, color: str | None, trips: list[TripRecord]
) -> Doc:
    directions = {t.direction_id for t in trips}
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": positions},
        "properties": {
            "shape_id": shape_id,
            "from_stops": shape_id is None,
            "route_id": route_id,
            "direction_ids": sorted(d for d in directions if d is not None)
            + ([None] if None in directions else []),
            "trips": len(trips),
            "route_color": color,
        },
    }


def _position(stop: Doc | None) -> Position | None:
    if stop is None or stop["stop_lat"] is None or stop["stop_lon"] is None:
        return None
    return [stop["stop_lon"], stop["stop_lat"]]


def _point(stop: Doc, properties: Doc) -> Doc:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": _position(stop)},
        "properties": properties,
    }


def stops_geojson(source: Source, conn: Connection) -> Streamed:
    """Every stop that has coordinates, as a Point, in stop_id byte order, streamed from the database
    (GTFS lets generic nodes and boarding areas leave coordinates out: those are not on the map)."""
    cols = source.columns("stops")
    shape = compile_shaper(
        "stops",
        cols,
        "Stop",
        typed=source.typed_columns("stops"),
        extra={"href": f"_href('stop', r[{cols.index('stop_id')}])"},
    )
    rows = map(shape, source.rows(conn, source.select_all("stops", "stop_id")))
    features = (
        orjson.dumps(
            _point(
                s,
                {
                    "stop_id": s["stop_id"],
                    "stop_name": s["stop_name"],
                    "location_type": s.get("location_type"),
                    "parent_station": s.get("parent_station"),
                    "href": s["href"],
                },
            ),
            option=DUMP_OPTIONS,
        )
        for s in rows
        if _position(s)
    )
    return Streamed({}, "features", features, tail={"type": "FeatureCollection"})
