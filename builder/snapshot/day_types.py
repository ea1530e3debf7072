"""Day types: which weekdays a service's timetable is printed for, and their English label.

A printed timetable says "Monday to Friday", not a list of dates. A service's day type is the weekdays
calendar.txt flags for it; a service that flags none (or that only calendar_dates.txt defines) runs on the
weekdays on which it runs on at least half of that weekday's dates between its first and last date, so an
added holiday does not turn a Sunday service into a "Monday and Sunday" one. Dates come from the one
resolution in builder.snapshot.calendars; exact dates are services.json's business.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from builder.snapshot.calendars import WEEKDAYS, flagged_weekdays, service_dates

DayType = tuple[int, ...]  # weekday numbers, 0 = Monday, ascending; () for no weekday
NO_SERVICE_LABEL = "No scheduled service"  # days (): the services never run
SELECTED_DATES_LABEL = "Selected dates"  # days (): some run, but on no weekday often enough (holidays)
_NAMED = {
    (0, 1, 2, 3, 4, 5, 6): "Daily",
    (0, 1, 2, 3, 4): "Monday to Friday",
    (5,): "Saturday",
    (6,): "Sunday",
    (5, 6): "Saturday and Sunday",
}


def day_type(service: Mapping[str, Any] | None) -> DayType:
    """The weekdays a service's trips are printed under (see the module docstring)."""
    if service is None:
        return ()  # a trip's service_id in neither calendar file: it never runs
    flagged = flagged_weekdays(service)
    if flagged:
        return tuple(flagged)
    dates = sorted(service_dates(service))
    if not dates:
        return ()
    runs = Counter(d.weekday() for d in dates)
    span, first = (dates[-1] - dates[0]).days + 1, dates[0].weekday()
    # How often weekday w occurs among the `span` days from the first date: whole weeks, plus one if
    # the leftover days reach it.
    occurs = {w: span // 7 + ((w - first) % 7 < span % 7) for w in range(7)}
    return tuple(w for w in range(7) if runs[w] and 2 * runs[w] >= occurs[w])


def day_names(days: DayType) -> list[str]:
    return [WEEKDAYS[d] for d in days]


def day_label(days: DayType, *, dated: bool = False) -> str:
    """ "Daily", "Monday to Friday", "Saturday", "Sunday", "Saturday and Sunday"; else three or more
    consecutive weekdays as "Monday to Saturday", anything else as a list ("Monday, Wednesday and Friday").
    No weekday: "Selected dates" when `dated` (a service runs, say on holidays), else "No scheduled service"."""
    if not days:
        return SELECTED_DATES_LABEL if dated else NO_SERVICE_LABEL
    if days in _NAMED:
        return _NAMED[days]
    names = [WEEKDAYS[d].capitalize() for d in days]
    if len(days) >= 3 and days[-1] - days[0] == len(days) - 1:
        return f"{names[0]} to {names[-1]}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
