"""timetables/<route-key>.json (kind `timetable`): a route's printed timetables, one per direction and
day type.

Stops down the side (builder.snapshot.stop_order), trips across; a cell is the trip's departure time at that stop
(its arrival when the departure is empty), "" where it stops without a time, null where it does not stop.
Built from the route-and-trip pass (builder.snapshot.route_trees), which already walks each route's trips with their
stop times in order: a route's trips are kept as compact records (shared stop-pattern tuples, interned
time strings) until the route ends, and its tables are written one by one.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

from builder.release.output import DUMP_OPTIONS, Streamed
from builder.snapshot.calendars import service_dates
from builder.snapshot.day_types import DayType, day_label, day_names, day_type
from builder.snapshot.kinds import href
from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.passkit import LATE
from builder.snapshot.stop_order import Pattern, stop_columns

_STOP_ID = itemgetter("stop_id")


@dataclass(frozen=True)
class DayTypes:
    """Every service's day type, computed once per pass."""

    days: dict[str, DayType]
    dated: frozenset[str]  # services that run on some date (all but those that never run)

    def of(self, service_id: str | None) -> DayType:
        return self.days.get(service_id, ()) if service_id is not None else ()


def day_types(services: Mapping[str, Doc]) -> DayTypes:
    days = {sid: day_type(service) for sid, service in services.items()}
    dated = frozenset(sid for sid, d in days.items() if d or service_dates(services[sid]))
    return DayTypes(days, dated)


@dataclass(frozen=True, slots=True)
class TripRecord:
    """What a route's timetables and map need of one trip; `stops` is shared by the trips of a pattern."""

    trip_id: str
    service_id: str | None
    headsign: str | None
    direction_id: int | None
    shape_id: str | None
    href: str
    stops: Pattern
    cells: tuple[str, ...]
    frequencies: tuple[Doc, ...]


class RouteSchedule:
    """One route's trips as TripRecords, collected during the route-and-trip pass."""

    def __init__(self, lk: Lookups) -> None:
        self.lk = lk
        self.trips: list[TripRecord] = []
        self._patterns: dict[Pattern, Pattern] = {}

    def add(self, trip: Doc, sts: list[Doc]) -> None:
        # Trips of one pattern share its tuple; times are interned (a route's trips repeat the same few
        # thousand): the largest route's records stay a few MB. map() keeps this loop in C.
        stops = tuple(map(_STOP_ID, sts))
        cells = tuple(map(sys.intern, [st["departure_time"] or st["arrival_time"] or "" for st in sts]))
        periods = tuple(
            {
                "start_time": f["start_time"],
                "end_time": f["end_time"],
                "headway_secs": f["headway_secs"],
                "exact_times": f.get("exact_times") or 0,
            }
            for f in self.lk.frequencies.get(trip["trip_id"], ())
        )
        self.trips.append(
            TripRecord(
                trip["trip_id"],
                trip["service_id"],
                trip["trip_headsign"],
                trip["direction_id"],
                trip.get("shape_id"),
                trip["href"],
                self._patterns.setdefault(stops, stops),
                cells,
                periods,
            )
        )


def timetable_document(route: Doc, schedule: RouteSchedule, day_types: DayTypes) -> Streamed:
    """The route summary and its tables, each table dumped on its own when the writer asks for it.

    Tables go by direction (0, 1, then none), then by first weekday (no weekday last), then label."""
    groups: dict[tuple[int | None, DayType], list[TripRecord]] = {}
    for trip in schedule.trips:
        groups.setdefault((trip.direction_id, day_types.of(trip.service_id)), []).append(trip)
    labels = {
        g: day_label(g[1], dated=any(t.service_id in day_types.dated for t in trips))
        for g, trips in groups.items()
    }
    order = sorted(groups, key=lambda g: (_direction_rank(g[0]), g[1][:1] or (7,), labels[g]))
    tables = (
        orjson.dumps(table(g[0], g[1], labels[g], groups[g], schedule.lk), option=DUMP_OPTIONS) for g in order
    )
    return Streamed({"route": schedule.lk.routes[route["route_id"]]}, "timetables", tables)


def _direction_rank(direction: int | None) -> tuple[int, int]:
    return (1, 0) if direction is None else (0, direction)  # a missing direction after 0 and 1


def table(direction: int | None, days: DayType, label: str, trips: list[TripRecord], lk: Lookups) -> Doc:
    trips = sorted(trips, key=lambda t: (_first_time(t), t.trip_id))
    uses = Counter(t.stops for t in trips if t.stops)
    patterns = sorted(uses, key=lambda p: (-uses[p], p))
    stops, columns = stop_columns(patterns)
    column_of = dict(zip(patterns, columns))
    rows = []
    for t in trips:
        times: list[str | None] = [None] * len(stops)
        for col, cell in zip(column_of.get(t.stops, ()), t.cells):
            times[col] = cell
        rows.append(
            {
                "trip_id": t.trip_id,
                "service_id": t.service_id,
                "trip_headsign": t.headsign,
                "href": t.href,
                "frequencies": list(t.frequencies),
                "times": times,
            }
        )
    headsigns = list(dict.fromkeys(t.headsign for t in trips if t.headsign))
    return {
        "direction_id": direction,
        "days": day_names(days),
        "label": label,
        "service_ids": sorted({t.service_id for t in trips if t.service_id is not None}),
        "headsigns": headsigns,
        "stops": [_stop(lk, s) for s in stops],
        "trips": rows,
    }


def _stop(lk: Lookups, stop_id: str) -> Doc:
    # A stop time naming an unknown stop is an integrity problem the pass reports; the build then fails.
    return lk.stops.get(stop_id) or {
        "stop_id": stop_id,
        "stop_name": None,
        "stop_lat": None,
        "stop_lon": None,
        "href": href("stop", stop_id),
    }


def _first_time(trip: TripRecord) -> tuple[int, str]:
    """A frequency-based trip by its first start_time, another by its first time; untimed trips last."""
    if trip.frequencies:
        first: Any = trip.frequencies[0]["start_time"]
        return len(first), first
    for cell in trip.cells:
        if cell:
            return len(cell), cell  # zero-padded times compare as text once their lengths agree
    return LATE
