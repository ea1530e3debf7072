"""Service calendars resolved to dates: weekday flags in range, exceptions added and removed."""

from __future__ import annotations

from datetime import date

from builder.snapshot.calendars import format_date, parse_date, resolve_services, service_dates, weekday_dates


def test_weekday_dates_keeps_both_ends_and_only_the_flagged_weekdays() -> None:
    # 2026-03-02 is a Monday; the range ends on a Sunday.
    got = sorted(weekday_dates(date(2026, 3, 2), date(2026, 3, 15), [0, 6]))
    assert got == [date(2026, 3, 2), date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 15)]


def test_service_dates_adds_and_removes_exceptions() -> None:
    weekend = {
        "service_id": "WE",
        "monday": 0,
        "tuesday": 0,
        "wednesday": 0,
        "thursday": 0,
        "friday": 0,
        "saturday": 1,
        "sunday": 1,
        "start_date": "20260301",
        "end_date": "20260315",
        "added_dates": ["20260304", "20260310"],
        "removed_dates": ["20260307", "20260310"],
    }
    got = sorted(map(format_date, service_dates(weekend)))
    # 0310 is both added and removed: removed wins.
    assert got == ["20260301", "20260304", "20260308", "20260314", "20260315"]


def test_service_dates_of_a_calendar_dates_only_service() -> None:
    holiday = {"service_id": "HOL", "added_dates": ["20261225", "20260101"], "removed_dates": []}
    assert sorted(service_dates(holiday)) == [date(2026, 1, 1), date(2026, 12, 25)]


def test_resolve_services_keeps_a_service_that_never_runs() -> None:
    gone = {"service_id": "X", "added_dates": [], "removed_dates": ["20260101"]}
    backwards = {
        "service_id": "B",
        "monday": 1,
        "start_date": "20260310",
        "end_date": "20260301",
        "added_dates": [],
        "removed_dates": [],
    }
    assert resolve_services({"X": gone, "B": backwards}) == {"X": set(), "B": set()}


def test_parse_and_format_date_round_trip() -> None:
    assert format_date(parse_date("20270228")) == "20270228"
    assert format_date(date(99, 1, 2)) == "00990102"
