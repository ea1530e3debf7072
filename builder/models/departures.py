"""What runs on a date: services.json and the departure boards."""

from __future__ import annotations

from pydantic import Field

from builder.models.shared import Document, RouteSummary, StopSummary


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
