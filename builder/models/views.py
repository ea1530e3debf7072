"""The three views: a route's tree, a stop's visits, a trip's stops."""

from __future__ import annotations

from builder.models.records import Agency, Frequency, Route, Service, StopDetail, StopTime, Trip
from builder.models.shared import Document, RouteSummary, StopSummary


class RouteTrip(Trip):
    stop_times: list[StopTime]
    frequencies: list[Frequency] | None = None


class RouteTree(Document):
    """routes/<key>.json: a route, all its trips with their stop times, and the stops they use."""

    route: Route
    agency: Agency | None
    trips: list[RouteTrip]
    stops: dict[str, StopSummary]
    services: dict[str, Service]


class StopVisit(Document):
    trip_id: str
    route_id: str
    service_id: str | None
    trip_headsign: str | None
    direction_id: int | None
    stop_sequence: int
    arrival_time: str | None
    departure_time: str | None
    href: str


class StopTrips(Document):
    """stops/<key>.json: a stop and every visit of a trip to it, in time order."""

    stop: StopDetail
    trips: list[StopVisit]
    routes: dict[str, RouteSummary]
    services: dict[str, Service]


class TripStopTime(StopTime):
    stop: StopSummary | None


class TripStops(Document):
    """trips/<key>.json: a trip's stop times, each with its stop."""

    trip: Trip
    route: RouteSummary
    service: Service | None
    frequencies: list[Frequency]
    stop_times: list[TripStopTime]
