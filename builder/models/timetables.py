"""timetables/<key>.json: a route's trips as tables, by direction and day type."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from builder.models.shared import Document, RouteSummary, StopSummary

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
