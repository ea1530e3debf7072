"""A stop's departure boards for its page: the first day as an HTML table, every day as compact data.

The window's boards (`departures/<YYYYMMDD>/<stop-key>.json`) are read back and each departure becomes
one short row, `[local ISO date-time, route index, headsign index, platform index, note]`, embedded in
the page as JSON (`<script type="application/json">`): the page's script switches dates and lists the
next departures from now without fetching anything, so it works from `file://` too, where browsers
refuse to fetch files. Names are stored once and rows point at them, which keeps a busy stop's week of
boards to a few hundred kilobytes; the first day's table is made here from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from markupsafe import Markup, escape

from builder.site.reader import Doc, Release, page_of
from builder.site.svgmap import colour, text_colour

Row = list[Any]


@dataclass(frozen=True)
class Window:
    dates: list[str]
    pattern: str  # departures/{date}/{stop_key}.json

    @staticmethod
    def of(feed: Doc) -> Window | None:
        """The departures window feed.json states, or None when the release has no boards."""
        window = feed.get("departures")
        if not window or not window.get("days"):
            return None
        start = datetime.strptime(window["from"], "%Y%m%d").toordinal()
        dates = [datetime.fromordinal(start + n).strftime("%Y%m%d") for n in range(window["days"])]
        return Window(dates, window["href"])

    def href(self, date: str, stop_key: str) -> str:
        return self.pattern.replace("{date}", date).replace("{stop_key}", stop_key)


class Names:
    """Each distinct string once; rows hold indexes into `items`."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def of(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.items)
            self.items.append(value)
        return found


# GTFS pickup_type / drop_off_type: 1 none, 2 phone the agency, 3 ask the driver (0 or empty: regular)
_PICKUP = {1: "no boarding", 2: "boarding: phone the agency", 3: "boarding: ask the driver"}
_DROP_OFF = {1: "boarding only", 2: "alighting: phone the agency", 3: "alighting: ask the driver"}


def note(departure: Doc) -> str:
    """What a rider must know about one departure beyond its time, as the real boards state it."""
    pickup, drop_off = departure.get("pickup_type") or 0, departure.get("drop_off_type") or 0
    notes = []
    if departure.get("departure") is None:
        notes.append("arrives only")
    elif pickup in _PICKUP:
        notes.append(_PICKUP[pickup])
    if drop_off == 1 and pickup == 1:
        notes[-1:] = ["no boarding or alighting"]
    elif drop_off in _DROP_OFF and pickup != 1:
        notes.append(_DROP_OFF[drop_off])
    if departure.get("estimated"):
        notes.append("estimated time")
    frequency = departure.get("frequency")
    if frequency and not frequency.get("exact_times"):
        notes.append(f"about every {frequency['headway_secs'] / 60:g} min")
    return ", ".join(notes)


def route_row(route: Doc, root: str) -> list[str]:
    """[short name, long name, colour, text colour, page] of a route, as a board shows it."""
    return [
        route.get("route_short_name") or route.get("route_long_name") or route["route_id"],
        route.get("route_long_name") or "",
        colour(route.get("route_color")),
        text_colour(route),
        root + page_of(route["href"]) if route.get("href") else "",
    ]


@dataclass
class Boards:
    """One stop's boards over the window, as embedded in its page."""

    dates: list[str] = field(default_factory=list)
    days: dict[str, list[Row]] = field(default_factory=dict)
    routes: list[list[str]] = field(default_factory=list)
    headsigns: Names = field(default_factory=Names)
    platforms: Names = field(default_factory=Names)

    def data(self) -> Doc:
        return {
            "dates": self.dates,
            "days": self.days,
            "routes": self.routes,
            "headsigns": self.headsigns.items,
            "platforms": self.platforms.items,
        }


def read_boards(
    release: Release, window: Window, stop_key: str, route_rows: dict[str, list[str]], root: str
) -> Boards:
    boards, route_index = Boards(), dict[str, int]()
    headsign, platform = boards.headsigns.of, boards.platforms.of
    for date in window.dates:
        board = release.read_optional(window.href(date, stop_key))
        if board is None:
            continue
        rows: list[Row] = []
        for d in board["departures"]:
            route_id = d["route_id"]
            r = route_index.get(route_id)
            if r is None:
                r = route_index[route_id] = len(boards.routes)
                known = route_rows.get(route_id)
                boards.routes.append(
                    known
                    or route_row((board.get("routes") or {}).get(route_id) or {"route_id": route_id}, root)
                )
            departure = d.get("departure")
            # most departures need no note: test that in one expression before building one
            plain = (
                departure is not None
                and not d.get("pickup_type")
                and not d.get("drop_off_type")
                and not d.get("estimated")
                and d.get("frequency") is None
            )
            rows.append(
                [
                    departure or d["arrival"],
                    r,
                    headsign(d["trip_headsign"] or ""),
                    platform(d["stop_id"] or ""),
                    "" if plain else note(d),
                ]
            )
        boards.dates.append(date)
        boards.days[date] = rows
    return boards


def first_day_rows(boards: Boards, platform_names: dict[str, str] | None) -> Markup:
    """The first day's table body; platform_names (a station's) adds the platform column."""
    routes = [
        f'<td><a href="{escape(href)}" class="badge" style="background:{bg};color:{fg}">{escape(short)}</a>'
        if href
        else f"<td>{escape(short)}"
        for short, _, bg, fg, href in boards.routes
    ]
    headsigns = [f"<td>{escape(h)}" for h in boards.headsigns.items]
    platforms = [f"<td>{escape((platform_names or {}).get(p, p))}" for p in boards.platforms.items]
    lines = []
    for when, r, h, p, text in boards.days[boards.dates[0]] if boards.dates else []:
        lines.append(
            f"<tr><td>{when[11:16]}{routes[r]}{headsigns[h]}"
            f"{platforms[p] if platform_names is not None else ''}<td>{escape(text)}</tr>"
        )
    return Markup("\n".join(lines))


def embedded(data: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` can close the element."""
    text = orjson.dumps(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@cache  # every stop page labels the same few dates
def date_label(date: str) -> str:
    return datetime.strptime(date, "%Y%m%d").strftime("%a %d %b %Y")
