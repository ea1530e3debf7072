"""The small documents: the route and stop indexes, the stops' map, feed.json, and the JSON Schemas of
every kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from builder import contract
from builder.geojson import STOPS_GEOJSON, STOPS_GEOJSON_KIND, route_geojson_href, stops_geojson
from builder.lookups import Doc, Lookups
from builder.output import Streamed
from builder.shapes import compile_shaper
from builder.source import Source
from builder.timetables import timetable_href

ROUTES_INDEX, STOPS_INDEX, FEED = "routes.json", "stops.json", "feed.json"


def index_documents(source: Source, conn: Connection,
                    lk: Lookups) -> Iterator[tuple[str, str, Doc | Streamed]]:
    routes = [dict(lk.routes[k], timetable=timetable_href(k), geojson=route_geojson_href(k)) for k in sorted(lk.routes)]
    yield ROUTES_INDEX, "routes", {"routes": routes}
    yield STOPS_INDEX, "stops", {"stops": [lk.stops[k] for k in sorted(lk.stops)]}
    yield STOPS_GEOJSON, STOPS_GEOJSON_KIND, stops_geojson(source, conn)
    yield FEED, "feed", feed_document(source, conn, lk)


def feed_document(source: Source, conn: Connection, lk: Lookups) -> Doc:
    agencies = sorted({id(a): a for a in lk.agencies.values()}.values(), key=lambda a: a["agency_id"] or "")
    counts = {t: source.count(conn, t) for t in ("routes", "stops", "trips", "stop_times")}
    return {
        "feed_info": _feed_info(source, conn),
        "agencies": agencies,
        "counts": {"agencies": len(agencies), **counts},
        "service_period": service_period(source, conn),
        "links": {"routes": ROUTES_INDEX, "stops": STOPS_INDEX, "stops_geojson": STOPS_GEOJSON},
    }


def _feed_info(source: Source, conn: Connection) -> Doc | None:
    if not source.has("feed_info"):
        return None
    cols = source.columns("feed_info")
    shape = compile_shaper("feed_info", cols, "Record", typed=source.typed_columns("feed_info"))
    row = conn.execute(source.select_all("feed_info")).first()
    return None if row is None else shape(row)


def service_period(source: Source, conn: Connection) -> Doc:
    """First and last day any service runs: calendar ranges and dates added by calendar_dates."""
    starts: list[str] = []
    ends: list[str] = []
    if source.has("calendar"):
        cal = source.table("calendar")
        lo, hi = conn.execute(select(func.min(cal.c.start_date), func.max(cal.c.end_date))).one()
        starts += [str(lo)] if lo is not None else []
        ends += [str(hi)] if hi is not None else []
    if source.has("calendar_dates"):
        cd = source.table("calendar_dates")
        added = select(func.min(cd.c.date), func.max(cd.c.date)).where(cd.c.exception_type == 1)
        lo, hi = conn.execute(added).one()
        starts += [str(lo)] if lo is not None else []
        ends += [str(hi)] if hi is not None else []
    return {"start_date": min(starts, default=None), "end_date": max(ends, default=None)}


def schema_documents() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for kind, schema in sorted(contract.schemas().items()):
        yield f"schemas/{kind}.schema.json", "schema", schema
