"""What runs on a date: a service's calendar row and its exceptions resolved to the dates it runs.

GTFS splits a service over two files: calendar.txt flags weekdays between start_date and end_date (both
inclusive), calendar_dates.txt adds dates (exception_type 1) and removes them (2). Every later document
that speaks of dates (services.json, departure boards, timetables' day types) starts from the one
resolution here, so they cannot disagree about a holiday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from builder.snapshot.kinds import current_prefix

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ONE_WEEK = timedelta(days=7)
MAX_WINDOW_DAYS = 366  # a year of departure boards at most: a typo must not fill a disk


def parse_date(value: str) -> date:
    """`20260308` -> date(2026, 3, 8)."""
    return datetime.strptime(value, "%Y%m%d").date()


def format_date(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def weekday_dates(start: date, end: date, weekdays: Iterable[int]) -> Iterable[date]:
    """Every date from start to end (inclusive) falling on one of `weekdays` (0 = Monday), a week at a
    time per weekday: a calendar row spanning years costs its dates, not a test per day."""
    for weekday in weekdays:
        day = start + timedelta(days=(weekday - start.weekday()) % 7)
        while day <= end:
            yield day
            day += ONE_WEEK


def flagged_weekdays(service: Mapping[str, Any]) -> list[int]:
    """The weekdays (0 = Monday) calendar.txt flags for the service; [] for a calendar_dates-only one."""
    return [i for i, name in enumerate(WEEKDAYS) if service.get(name) == 1]


def service_dates(service: Mapping[str, Any]) -> set[date]:
    """The dates a service runs: flagged weekdays in its range, plus added dates, minus removed ones
    (a date both added and removed is removed)."""
    dates: set[date] = set()
    start, end = service.get("start_date"), service.get("end_date")
    if start and end:
        dates.update(weekday_dates(parse_date(start), parse_date(end), flagged_weekdays(service)))
    dates.update(map(parse_date, service.get("added_dates", ())))
    dates.difference_update(map(parse_date, service.get("removed_dates", ())))
    return dates


def resolve_services(services: Mapping[str, Mapping[str, Any]]) -> dict[str, set[date]]:
    """service_id -> the dates it runs, for every service of calendar.txt and calendar_dates.txt
    (builder.snapshot.lookups.load_services gives them in the Service model's shape)."""
    return {service_id: service_dates(service) for service_id, service in services.items()}


def services_document(services: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """services.json: every service with the dates it runs (sorted; [] for one that never runs), and the
    first and last date any of them runs (null for a feed where none does)."""
    resolved = resolve_services(services)
    every = set().union(*resolved.values()) if resolved else set()
    return {
        "start_date": format_date(min(every)) if every else None,
        "end_date": format_date(max(every)) if every else None,
        "services": {
            sid: {"service_id": sid, "dates": [format_date(d) for d in sorted(dates)]}
            for sid, dates in sorted(resolved.items())
        },
    }


@dataclass(frozen=True)
class Window:
    """The dates dated documents (departure boards) are written for: `days` dates from `first`."""

    first: date
    days: int

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def describe(self) -> dict[str, Any]:
        """feed.json's `departures`."""
        return {
            "from": format_date(self.first),
            "days": self.days,
            "href": current_prefix() + "departures/{date}/{stop_key}.json",
        }
