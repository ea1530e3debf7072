"""GTFS rows as documents carry them: the reference fields typed, any other column kept as text."""

from __future__ import annotations

from pydantic import Field

from builder.models.shared import Document, Record, StopSummary


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
