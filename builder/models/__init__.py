"""The documents' contract: small pydantic models, composed into the three views and the indexes.

Rules every document follows, and which the builder's hot path derives from these models:
- Fields without a default are always present, null when the database has no value.
- Fields with a default (optional GTFS fields) are present only when the database has a value, so a
  database that stores every GTFS column as NULL gives the same bytes as one that lacks those columns.
- GTFS rows allow extra fields: columns the GTFS reference does not define are kept, as text.
`schemas/<kind>.schema.json` is generated from these models, and tests validate emitted documents against them.

The models are grouped by what they describe (shared pieces, GTFS records, views, timetables,
GeoJSON, indexes, departures); import them from here.
"""

from __future__ import annotations

from pydantic import BaseModel

from builder.models.departures import Departure, DepartureBoard, FrequencyRun, ServiceDates, Services
from builder.models.geojson import (
    LineFeature,
    LineProperties,
    LineString,
    MapStopFeature,
    MapStopProperties,
    Point,
    Position,
    RouteMap,
    StopFeature,
    StopProperties,
    StopsMap,
)
from builder.models.indexes import (
    AllRoutesIndex,
    AllStopsIndex,
    Counts,
    DeparturesWindow,
    Encoded,
    Feed,
    FeedEntry,
    FeedRouteLinks,
    FeedsIndex,
    FeedStopSummary,
    Links,
    Manifest,
    ManifestEntry,
    RouteLinks,
    RoutesIndex,
    ServicePeriod,
    StopsIndex,
)
from builder.models.records import Agency, Frequency, Route, Service, Stop, StopDetail, StopTime, Trip
from builder.models.shared import Document, Record, RouteSummary, StopSummary, always_present
from builder.models.timetables import RouteTimetables, Timetable, TimetableFrequency, TimetableTrip, Weekday
from builder.models.views import RouteTree, RouteTrip, StopTrips, StopVisit, TripStops, TripStopTime

# kind -> model; the schema of each is published as schemas/<kind>.schema.json
DOCUMENT_MODELS: dict[str, type[BaseModel]] = {
    "route": RouteTree,
    "stop": StopTrips,
    "trip": TripStops,
    "timetable": RouteTimetables,
    "route_geojson": RouteMap,
    "stops_geojson": StopsMap,
    "routes": RoutesIndex,
    "stops": StopsIndex,
    "feed": Feed,
    "services": Services,
    "departures": DepartureBoard,
    "manifest": Manifest,
    "feeds": FeedsIndex,
    "all_routes": AllRoutesIndex,
    "all_stops": AllStopsIndex,
}

__all__ = [
    "DOCUMENT_MODELS",
    "Agency",
    "AllRoutesIndex",
    "AllStopsIndex",
    "Counts",
    "Departure",
    "DepartureBoard",
    "DeparturesWindow",
    "Document",
    "Encoded",
    "Feed",
    "FeedEntry",
    "FeedRouteLinks",
    "FeedStopSummary",
    "FeedsIndex",
    "Frequency",
    "FrequencyRun",
    "LineFeature",
    "LineProperties",
    "LineString",
    "Links",
    "Manifest",
    "ManifestEntry",
    "MapStopFeature",
    "MapStopProperties",
    "Point",
    "Position",
    "Record",
    "Route",
    "RouteLinks",
    "RouteMap",
    "RouteSummary",
    "RouteTimetables",
    "RouteTree",
    "RouteTrip",
    "RoutesIndex",
    "Service",
    "ServiceDates",
    "ServicePeriod",
    "Services",
    "Stop",
    "StopDetail",
    "StopFeature",
    "StopProperties",
    "StopSummary",
    "StopTime",
    "StopTrips",
    "StopVisit",
    "StopsIndex",
    "StopsMap",
    "Timetable",
    "TimetableFrequency",
    "TimetableTrip",
    "Trip",
    "TripStopTime",
    "TripStops",
    "Weekday",
    "always_present",
]
