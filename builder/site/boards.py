"""A stop's departure boards for its page: the first day as an HTML table, every day as compact data.

The window's boards (`departures/<YYYYMMDD>/<stop-key>.json`) are read back and each departure becomes
one short row, `[epoch seconds, "HH:MM", route index, headsign index, platform index, note]`, embedded
in the page as JSON (`<script type="application/json">`): the page's script switches dates and lists
the next departures from now without fetching anything, so it works from `file://` too, where
browsers refuse to fetch files. Names are stored once and rows point at them, which keeps a busy
stop's week of boards to a few hundred kilobytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from markupsafe import Markup

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


@dataclass
class Names:
    """Each distinct string once; rows hold indexes into `items`."""

    items: list[Any] = field(default_factory=list)
    index: dict[Any, int] = field(default_factory=dict)

    def of(self, value: Any) -> int:
        key = orjson.dumps(value) if isinstance(value, list) else value
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(value)
        return self.index[key]


def note(departure: Doc) -> str:
    notes = []
    if departure.get("departure") is None:
        notes.append("arrives only")
    elif departure.get("pickup_type") == 1:
        notes.append("no boarding")
    if departure.get("drop_off_type") == 1 and departure.get("pickup_type") != 1:
        notes.append("boarding only")
    if departure.get("estimated"):
        notes.append("estimated time")
    frequency = departure.get("frequency")
    if frequency and not frequency.get("exact_times"):
        notes.append(f"about every {frequency['headway_secs'] / 60:g} min")
    return ", ".join(notes)


def _row(departure: Doc, routes: Names, headsigns: Names, platforms: Names, route_info: Doc,
         root: str) -> Row:
    instant: str = departure.get("departure") or departure["arrival"]
    when = datetime.fromisoformat(instant)
    route = route_info.get(departure["route_id"]) or {"route_id": departure["route_id"]}
    route_row = [route.get("route_short_name") or route.get("route_long_name") or route["route_id"],
                 route.get("route_long_name") or "", colour(route.get("route_color")),
                 text_colour(route),
                 root + page_of(route["href"]) if route.get("href") else ""]
    return [int(when.timestamp()), instant[11:16], routes.of(route_row),
            headsigns.of(departure.get("trip_headsign") or ""), platforms.of(departure.get("stop_id") or ""),
            note(departure)]


def board_data(release: Release, window: Window, stop_key: str, route_info: Doc, root: str) -> Doc:
    """Every day of the window for one stop: {"dates", "days": {date: [row...]}, "routes", ...}."""
    routes, headsigns, platforms = Names(), Names(), Names()
    days: dict[str, list[Row]] = {}
    for date in window.dates:
        board = release.read_optional(window.href(date, stop_key))
        if board is None:
            continue
        info = {**board.get("routes", {}), **route_info}
        days[date] = [_row(d, routes, headsigns, platforms, info, root) for d in board["departures"]]
    return {"dates": list(days), "days": days, "routes": routes.items, "headsigns": headsigns.items,
            "platforms": platforms.items}


def embedded(data: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` can close the element."""
    text = orjson.dumps(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def date_label(date: str) -> str:
    return datetime.strptime(date, "%Y%m%d").strftime("%a %d %b %Y")
