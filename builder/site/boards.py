"""A stop's departure boards for its page: the first day as an HTML table, from the stop's week.

The boards pass writes each stop's week of departures in short rows (kind `stop_week`,
builder.snapshot.board_week), a script the page loads with `<script src>`, so that its script switches
dates and lists the next departures from now without fetching anything, from `file://` too, where
browsers refuse to fetch files. The page itself holds the first date's table, made here from the same
rows; the boards' JSON is not read back (but by the merge of shards, which has no boards pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from markupsafe import Markup, escape

from builder.errors import BuildError
from builder.release.output import Raw
from builder.site.reader import Doc, Release, page_of
from builder.site.svgmap import colour, text_colour
from builder.snapshot.board_week import Cell, WeekRows, cell, clock_time, parse_first_day
from builder.snapshot.passkit import Made


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


def route_row(route: Doc, root: str) -> list[str]:
    """[short name, long name, colour, text colour, page] of a route, as a board shows it."""
    return [
        route.get("route_short_name") or route.get("route_long_name") or route["route_id"],
        route.get("route_long_name") or "",
        colour(route.get("route_color")),
        text_colour(route),
        root + page_of(route["href"]) if route.get("href") else "",
    ]


def week_from_boards(
    release: Release, window: Window, stops: list[Doc], routes: dict[str, Doc], root: str
) -> Iterator[Made]:
    """Every stop's `stop_week` document made from its boards' JSON, for a release made without the
    boards pass (the merge of shards, builder.shards): the same bytes the boards pass writes with
    --site (builder.snapshot.board_week), which makes them from the departures it holds. `routes`:
    route_id -> the route as its route tree states it (Common.route_info, already read)."""
    route_rows = {route_id: route_row(route, root) for route_id, route in routes.items()}

    def unknown(route_id: str) -> list[str]:
        return route_row({"route_id": route_id}, root)

    for stop in stops:
        key = stop["href"].rsplit("/", 1)[-1].rpartition(".")[0]
        week = WeekRows(route_rows, unknown)
        dates, days = [], []
        for date in window.dates:
            board = release.read_optional(window.href(date, key))
            if board is not None:
                dates.append(date)
                days.append([_row(d) for d in board["departures"]])
        yield "stop_week", stop["stop_id"], Raw(week.document(dates, days))


def _row(departure: Doc) -> tuple[bytes, Cell]:
    """A departure of a board's JSON as the boards pass holds it for the week (its last two items)."""
    when = orjson.dumps(departure["departure"] or departure["arrival"])
    return when, cell(
        departure["route_id"], departure["trip_headsign"], departure["stop_id"] or "", departure
    )


def read_week(release: Release, href: str) -> Doc | None:
    """A stop's `stop_week` document, parsed with only its first date's rows, all the page's HTML
    shows (None when the release has none)."""
    try:
        with open(f"{release.root}/{href}", "rb") as f:  # no pathlib: thousands of small reads
            data = f.read()
    except FileNotFoundError:
        return None
    found = parse_first_day(data)
    if found is None:
        raise BuildError(f"the site cannot read {href}: not a stop's week of boards")
    return found


def first_day_rows(week: Doc, platform_names: dict[str, str] | None) -> Markup:
    """The first day's table body of a stop's week (board_week); platform_names (a station's) adds the
    platform column."""
    if not week["dates"]:
        return Markup("")
    first = week["dates"][0]
    routes = [
        f'<td><a href="{escape(href)}" class="badge" style="background:{bg};color:{fg}">{escape(short)}</a>'
        if href
        else f"<td>{escape(short)}"
        for short, _, bg, fg, href in week["routes"]
    ]
    headsigns = [f"<td>{escape(h)}" for h in week["headsigns"]]
    platforms = [f"<td>{escape((platform_names or {}).get(p, p))}" for p in week["platforms"]]
    notes: dict[str, str] = {}
    lines = []
    for when, r, h, p, text in week["days"][first]:
        shown = notes.get(text)
        if shown is None:
            shown = notes[text] = str(escape(text))
        lines.append(
            f"<tr><td>{clock_time(when)}{routes[r]}{headsigns[h]}"
            f"{platforms[p] if platform_names is not None else ''}<td>{shown}</tr>"
        )
    return Markup("\n".join(lines))


def embedded(data: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` can close the element."""
    text = orjson.dumps(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@cache  # every stop page labels the same few dates
def date_label(date: str) -> str:
    return datetime.strptime(date, "%Y%m%d").strftime("%a %d %b %Y")
