"""The small tables every view refers to, read once: stop and route summaries, services, frequencies.

They grow with the number of stops, routes and services, never with stop times; the large tables are
streamed by the passes (builder.snapshot.route_trees, builder.snapshot.stop_views).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from builder import contract
from builder.snapshot.rows import compile_shaper
from builder.snapshot.source import Source

Doc = dict[str, Any]


@dataclass(frozen=True)
class Lookups:
    stops: dict[str, Doc]  # stop_id -> StopSummary
    routes: dict[str, Doc]  # route_id -> RouteSummary
    agencies: dict[str | None, Doc]  # agency_id -> Agency; key None when the feed has a single unnamed agency
    services: dict[str, Doc]  # service_id -> Service
    frequencies: dict[str, list[Doc]]  # trip_id -> [Frequency]


def load_lookups(source: Source, conn: Connection) -> Lookups:
    return Lookups(
        stops=_summaries(source, conn, "stops", "stop_id", "StopSummary", "stop"),
        routes=_summaries(source, conn, "routes", "route_id", "RouteSummary", "route"),
        agencies=load_agencies(source, conn),
        services=load_services(source, conn),
        frequencies=_frequencies(source, conn),
    )


def load_routes(source: Source, conn: Connection) -> dict[str, Doc]:
    """route_id -> the route as its route tree states it (every field of the Route model)."""
    return _summaries(source, conn, "routes", "route_id", "Route", "route")


def _summaries(
    source: Source, conn: Connection, table: str, key: str, model: str, kind: str
) -> dict[str, Doc]:
    fields = [f for f in contract.fields(model).names if f != "href" and f in source.columns(table)]
    stmt = source.select_all(table, key).with_only_columns(*(source.table(table).c[f] for f in fields))
    shape = compile_shaper(
        table,
        fields,
        model,
        typed=source.typed_columns(table),
        extra={"href": f"_href({kind!r}, r[{fields.index(key)}])"},
    )
    return {doc[key]: doc for doc in map(shape, source.rows(conn, stmt))}


def load_agencies(source: Source, conn: Connection) -> dict[str | None, Doc]:
    cols = source.columns("agency")
    shape = compile_shaper("agency", cols, "Agency", typed=source.typed_columns("agency"))
    rows = [shape(r) for r in source.rows(conn, source.select_all("agency", "agency_id"))]
    out: dict[str | None, Doc] = {a.get("agency_id"): a for a in rows}
    if len(rows) == 1:
        out[None] = rows[0]  # agency_id may be left out where a feed has one agency
    return out


def load_services(source: Source, conn: Connection) -> dict[str, Doc]:
    services: dict[str, Doc] = {}
    if source.has("calendar"):
        cols = source.columns("calendar")
        shape = compile_shaper("calendar", cols, "Service", typed=source.typed_columns("calendar"))
        for row in source.rows(conn, source.select_all("calendar", "service_id")):
            services[row[cols.index("service_id")]] = dict(shape(row), added_dates=[], removed_dates=[])
    if source.has("calendar_dates"):
        stmt = source.select_all("calendar_dates", "service_id", "date")
        cols = source.columns("calendar_dates")
        sid, date, exc = (cols.index(c) for c in ("service_id", "date", "exception_type"))
        for service_id, rows in groupby(source.rows(conn, stmt), key=itemgetter(sid)):
            service = services.setdefault(
                service_id, {"service_id": service_id, "added_dates": [], "removed_dates": []}
            )
            for row in rows:
                target = "added_dates" if int(row[exc]) == 1 else "removed_dates"
                service[target].append(str(row[date]))
    for service in services.values():  # dates sorted as text: YYYYMMDD sorts by time
        service["added_dates"].sort()
        service["removed_dates"].sort()
    return services


def _frequencies(source: Source, conn: Connection) -> dict[str, list[Doc]]:
    out: dict[str, list[Doc]] = defaultdict(list)
    if not source.has("frequencies"):
        return out
    cols = source.columns("frequencies")
    shape = compile_shaper(
        "frequencies",
        cols,
        "Frequency",
        typed=source.typed_columns("frequencies"),
        skip=frozenset({"trip_id"}),
    )
    tid = cols.index("trip_id")
    for row in source.rows(conn, source.select_all("frequencies", "trip_id")):
        out[row[tid]].append(shape(row))
    for periods in out.values():  # zero-padded times sort as text once equal in length (hours may pass 99)
        periods.sort(key=lambda f: (len(f["start_time"]), f["start_time"]))
    return out
