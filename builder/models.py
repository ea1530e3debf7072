"""The documents' contract: small pydantic models, composed into the three views and the indexes.

Rules every document follows, and which the builder's hot path derives from these models:
- Fields without a default are always present, null when the database has no value.
- Fields with a default (optional GTFS fields) are present only when the database has a value, so a
  database that stores every GTFS column as NULL gives the same bytes as one that lacks those columns.
- GTFS rows allow extra fields: columns the GTFS reference does not define are kept, as text.
`schemas/<kind>.schema.json` is generated from these models, and tests validate emitted documents against them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Document(BaseModel):
    """A shape this project defines: no other keys allowed."""

    model_config = ConfigDict(extra="forbid")


class Record(BaseModel):
    """A GTFS row: its reference fields typed, and any column the feed added kept as it is."""

    model_config = ConfigDict(extra="allow")


# -- summaries: the small pieces that link documents together ------------------------------------------


class StopSummary(Document):
    stop_id: str
    stop_name: str | None
    stop_lat: float | None
    stop_lon: float | None
    href: str = Field(description="Path of the stop-trips view, relative to the snapshot root.")


class RouteSummary(Document):
    route_id: str
    agency_id: str | None
    route_short_name: str | None
    route_long_name: str | None
    route_type: int | None
    href: str = Field(description="Path of the route tree, relative to the snapshot root.")


# -- GTFS records ----------------------------------------------------------------------------------------


class Agency(Record):
    agency_id: str | None
    agency_name: str | None
    agency_url: str | None
    agency_timezone: str | None
    agency_lang: str | None = None
    agency_phone: str | None = None
    agency_fare_url: str | None = None
    agency_email: str | None = None


class Route(Record):
    route_id: str
    agency_id: str | None
    route_short_name: str | None
    route_long_name: str | None
    route_type: int | None
    route_desc: str | None = None
    route_url: str | None = None
    route_color: str | None = None
    route_text_color: str | None = None
    route_sort_order: int | None = None
    continuous_pickup: int | None = None
    continuous_drop_off: int | None = None
    network_id: str | None = None
    href: str


class Stop(Record):
    stop_id: str
    stop_name: str | None
    stop_lat: float | None
    stop_lon: float | None
    stop_code: str | None = None
    tts_stop_name: str | None = None
    stop_desc: str | None = None
    zone_id: str | None = None
    stop_url: str | None = None
    location_type: int | None = None
    parent_station: str | None = None
    stop_timezone: str | None = None
    wheelchair_boarding: int | None = None
    level_id: str | None = None
    platform_code: str | None = None
    href: str


class StopDetail(Stop):
    parent: StopSummary | None = Field(description="The parent station, when the feed has it.")
    children: list[StopSummary] = Field(description="Platforms, entrances and other stops inside this one.")


class Trip(Record):
    trip_id: str
    route_id: str
    service_id: str | None
    trip_headsign: str | None
    direction_id: int | None
    trip_short_name: str | None = None
    block_id: str | None = None
    shape_id: str | None = None
    wheelchair_accessible: int | None = None
    bikes_allowed: int | None = None
    href: str


class StopTime(Record):
    stop_id: str | None
    stop_sequence: int
    arrival_time: str | None = Field(description="HH:MM:SS, may pass 24:00:00; null when not a timepoint.")
    departure_time: str | None
    stop_headsign: str | None = None
    pickup_type: int | None = None
    drop_off_type: int | None = None
    continuous_pickup: int | None = None
    continuous_drop_off: int | None = None
    shape_dist_traveled: float | None = None
    timepoint: int | None = None


class Frequency(Record):
    start_time: str
    end_time: str
    headway_secs: int
    exact_times: int | None = None


class Service(Document):
    """When a service runs: its calendar row (absent for calendar_dates-only services) and its exceptions."""

    service_id: str
    monday: int | None = None
    tuesday: int | None = None
    wednesday: int | None = None
    thursday: int | None = None
    friday: int | None = None
    saturday: int | None = None
    sunday: int | None = None
    start_date: str | None = Field(default=None, description="YYYYMMDD")
    end_date: str | None = None
    added_dates: list[str]
    removed_dates: list[str]


# -- the three views ---------------------------------------------------------------------------------------


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


# -- timetables ---------------------------------------------------------------------------------------------

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class TimetableFrequency(Document):
    start_time: str
    end_time: str
    headway_secs: int
    exact_times: int = Field(description="0 or 1; 0 where frequencies.txt leaves it empty.")


class TimetableTrip(Document):
    trip_id: str
    service_id: str | None
    trip_headsign: str | None
    href: str
    frequencies: list[TimetableFrequency] = Field(
        description="Every frequencies.txt row of the trip, in start_time order; [] for a scheduled trip."
    )
    times: list[str | None] = Field(
        description="One cell per entry of the table's stops: the departure time (else the arrival), "
        '"" where the trip stops without a time, null where it does not stop.'
    )


class Timetable(Document):
    direction_id: int | None
    days: list[Weekday] = Field(description="The weekdays of the day type, in week order; [] for no dates.")
    label: str = Field(description='The days in English: "Monday to Friday", "Saturday and Sunday"...')
    service_ids: list[str]
    headsigns: list[str]
    stops: list[StopSummary] = Field(description="Down the side: every trip's stop visits embed in order.")
    trips: list[TimetableTrip] = Field(description="Across: by first time (start_time), then trip_id.")


class RouteTimetables(Document):
    """timetables/<key>.json: a route's timetables by direction and day type."""

    route: RouteSummary
    timetables: list[Timetable]


# -- GeoJSON (RFC 7946) -------------------------------------------------------------------------------------

Position = Annotated[list[float], Field(min_length=2, max_length=2, description="[longitude, latitude]")]


class Point(Document):
    type: Literal["Point"]
    coordinates: Position


class LineString(Document):
    type: Literal["LineString"]
    coordinates: list[Position] = Field(min_length=2)


class LineProperties(Document):
    shape_id: str | None = Field(description="null for a line drawn through the stops of a stop pattern.")
    from_stops: bool = Field(description="True when the line joins stops because no usable shape exists.")
    route_id: str
    direction_ids: list[int | None]
    trips: int = Field(description="How many of the route's trips follow this line.")
    route_color: str | None


class StopProperties(Document):
    stop_id: str
    stop_name: str | None
    href: str


class LineFeature(Document):
    type: Literal["Feature"]
    geometry: LineString
    properties: LineProperties


class StopFeature(Document):
    type: Literal["Feature"]
    geometry: Point
    properties: StopProperties


class RouteMap(Document):
    """routes/<key>.geojson: the route's shapes (or lines through its stops) and the stops it serves."""

    type: Literal["FeatureCollection"]
    features: list[LineFeature | StopFeature]


class MapStopProperties(StopProperties):
    location_type: int | None
    parent_station: str | None


class MapStopFeature(Document):
    type: Literal["Feature"]
    geometry: Point
    properties: MapStopProperties


class StopsMap(Document):
    """stops.geojson: every stop that has coordinates."""

    type: Literal["FeatureCollection"]
    features: list[MapStopFeature]


# -- indexes and the feed ----------------------------------------------------------------------------------


class RouteLinks(RouteSummary):
    timetable: str = Field(description="Path of the route's timetables.")
    geojson: str = Field(description="Path of the route's GeoJSON map.")


class RoutesIndex(Document):
    routes: list[RouteLinks]


class StopsIndex(Document):
    stops: list[StopSummary]


class Counts(Document):
    agencies: int
    routes: int
    stops: int
    trips: int
    stop_times: int


class ServicePeriod(Document):
    start_date: str | None
    end_date: str | None


class Links(Document):
    routes: str
    stops: str
    stops_geojson: str
    services: str


class DeparturesWindow(Document):
    from_: str = Field(alias="from", description="YYYYMMDD: the first date with departure boards.")
    days: int = Field(description="How many dates from `from` have boards (0: none).")
    href: str = Field(description="Template of a board's path: departures/{date}/{stop_key}.json.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class Feed(Document):
    """feed.json: what the snapshot holds."""

    feed_info: Record | None
    agencies: list[Agency]
    counts: Counts
    service_period: ServicePeriod
    links: Links
    departures: DeparturesWindow


# -- the root of a snapshot of several feeds (import --feed): each feed's documents under feeds/<key>/ --------


class FeedEntry(Feed):
    """A feed of feeds.json: its feed.json, with its id and that document's path."""

    feed_id: str = Field(description="The id it was imported under (import --feed ID).")
    href: str = Field(description="Path of the feed's feed.json: feeds/<key>/feed.json.")


class FeedsIndex(Document):
    """feeds.json: every feed of the snapshot, by id."""

    feeds: list[FeedEntry]


class FeedRouteLinks(RouteLinks):
    feed: str = Field(description="The id of the route's feed: feeds may share route ids.")


class AllRoutesIndex(Document):
    """routes.json at the root: every feed's routes (by feed id, then as in the feed's routes.json)."""

    routes: list[FeedRouteLinks]


class FeedStopSummary(StopSummary):
    feed: str = Field(description="The id of the stop's feed: feeds may share stop ids.")


class AllStopsIndex(Document):
    """stops.json at the root: every feed's stops (by feed id, then as in the feed's stops.json)."""

    stops: list[FeedStopSummary]


# -- what runs on a date -----------------------------------------------------------------------------------


class ServiceDates(Document):
    service_id: str
    dates: list[str] = Field(description="YYYYMMDD, sorted: every date the service runs.")


class Services(Document):
    """services.json: every service of calendar.txt and calendar_dates.txt and the dates it runs."""

    start_date: str | None = Field(description="The first date any service runs (YYYYMMDD).")
    end_date: str | None = Field(description="The last date any service runs (YYYYMMDD).")
    services: dict[str, ServiceDates]


class FrequencyRun(Document):
    start_time: str = Field(description="HH:MM:SS: this run's own start time.")
    headway_secs: int
    exact_times: int


class Departure(Document):
    trip_id: str
    route_id: str
    service_id: str | None
    service_date: str = Field(description="YYYYMMDD: the service day whose times these are.")
    trip_headsign: str | None
    direction_id: int | None
    stop_id: str = Field(description="The stop visited: the board's stop, or a stop inside the station.")
    stop_sequence: int
    arrival_time: str | None = Field(description="HH:MM:SS of the service day, may pass 24:00:00.")
    departure_time: str | None
    arrival: str | None = Field(description="ISO 8601 local date-time with its UTC offset.")
    departure: str | None
    pickup_type: int
    drop_off_type: int
    estimated: bool = Field(description="True when the times were interpolated (a stop without times).")
    frequency: FrequencyRun | None = Field(description="The run of a frequency-based trip; null otherwise.")
    href: str


class DepartureBoard(Document):
    """departures/<YYYYMMDD>/<stop-key>.json: what leaves a stop (or a station's stops) on a local date."""

    date: str = Field(description="YYYYMMDD, a local date in `timezone`.")
    timezone: str
    stop: StopSummary
    departures: list[Departure]
    routes: dict[str, RouteSummary]


class Encoded(Document):
    path: str
    sha256: str
    bytes: int


class ManifestEntry(Document):
    path: str
    kind: str
    id: str | None
    sha256: str
    bytes: int
    media_type: str = Field(description="Content-Type the document is served with, e.g. application/json.")
    encodings: dict[str, Encoded] | None = None


class Manifest(Document):
    documents: list[ManifestEntry]


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


def always_present(model: type[BaseModel]) -> frozenset[str]:
    """Fields a document always carries (null or not); the others are left out when null."""
    return frozenset(name for name, field in model.model_fields.items() if field.is_required())
