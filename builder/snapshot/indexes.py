"""The small documents: the index pass (the route and stop indexes, the stops' map, feed.json) and the
schema pass (the JSON Schema of every kind with a model). Both are declared in builder.snapshot.kinds and run in the
build process."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, func, select

from builder import contract
from builder.snapshot.calendars import services_document
from builder.snapshot.geojson import stops_geojson
from builder.snapshot.kinds import BY_NAME, kind
from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.passkit import Made, PassInput
from builder.snapshot.rows import compile_shaper
from builder.snapshot.source import Source


def indexes(inp: PassInput) -> Iterator[Made]:
    lk = inp.lookups
    timetable, geojson = kind("timetable"), kind("route_geojson")
    yield (
        "routes",
        None,
        {
            "routes": [
                dict(lk.routes[k], timetable=timetable.path(k), geojson=geojson.path(k))
                for k in sorted(lk.routes)
            ]
        },
    )
    yield "stops", None, {"stops": [lk.stops[k] for k in sorted(lk.stops)]}
    yield "stops_geojson", None, stops_geojson(inp.source, inp.conn)
    yield "services", None, services_document(lk.services)
    yield "feed", None, feed_document(inp.source, inp.conn, lk, inp.window.describe())


def feed_document(source: Source, conn: Connection, lk: Lookups, departures: Doc) -> Doc:
    """feed.json; `departures` is the boards' window (from, days, the href template)."""
    agencies = sorted({id(a): a for a in lk.agencies.values()}.values(), key=lambda a: a["agency_id"] or "")
    counts = {t: source.count(conn, t) for t in ("routes", "stops", "trips", "stop_times")}
    return {
        "feed_info": _feed_info(source, conn),
        "agencies": agencies,
        "counts": {"agencies": len(agencies), **counts},
        "service_period": service_period(source, conn),
        "links": {
            "routes": kind("routes").path(None),
            "stops": kind("stops").path(None),
            "stops_geojson": kind("stops_geojson").path(None),
            "services": kind("services").path(None),
        },
        "departures": departures,
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


def schemas(inp: PassInput) -> Iterator[Made]:
    """schemas/<kind>.schema.json for every kind of a feed's documents builder.models gives a model (the
    manifest's too); the root's kinds, in a snapshot of several feeds, have theirs at the root."""
    for name, schema in sorted(contract.schemas().items()):
        if name not in BY_NAME or not BY_NAME[name].root:
            yield "schema", name, schema
