"""Timetables as HTML tables: stops down the side, trips across, one table per direction and day type.

Rows are made here in Python rather than in a template loop: mta_bus_brooklyn's route pages hold
millions of cells, and a template loop per cell costs several times a string join. Every text that
comes from the feed goes through `escape`; times are checked to be times before they are written.
Cells leave out their optional end tags (`</td>`, `</tr>`), valid HTML5 that keeps big tables small.

A long timetable is cut into parts of at most MAX_CELLS cells (whole trips, in time order), each part a
page of its own, so that no page is heavy for a phone: B6 in Brooklyn has 2,300 trips.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from builder.site import grid
from builder.site.reader import Doc, page_of

MAX_CELLS = 100_000  # about 1 MB of HTML a page
INLINE_CELLS = 30_000  # a route whose tables hold more gets one page per table part
_TIME = re.compile(r"(\d{2,}):(\d{2}):\d{2}")
_SPECIAL = re.compile("[&<>\"']")  # what markupsafe's escape replaces


@dataclass(frozen=True)
class Part:
    """One table, or one part of a long one: the trips trips[first:last] of timetables[index]."""

    index: int
    table: Doc
    first: int
    last: int
    number: int  # 1-based within its table
    of: int  # how many parts its table has

    @property
    def trips(self) -> list[Doc]:
        trips: list[Doc] = self.table["trips"][self.first : self.last]
        return trips

    def caption(self) -> str:
        text = f"{direction_name(self.table)} · {self.table['label']}"
        if self.of > 1:
            start = first_time(self.trips[0])
            text += f" · part {self.number} of {self.of}" + (f", from {start}" if start else "")
        return text


def parts(timetables: list[Doc], max_cells: int = MAX_CELLS) -> list[Part]:
    found: list[Part] = []
    for index, table in enumerate(timetables):
        per_part = max(1, max_cells // max(1, len(table["stops"])))
        trips = len(table["trips"])
        count = max(1, -(-trips // per_part))
        for number in range(count):
            found.append(
                Part(index, table, number * per_part, min(trips, (number + 1) * per_part), number + 1, count)
            )
    return found


def cells(timetables: list[Doc]) -> int:
    return sum(len(t["stops"]) * len(t["trips"]) for t in timetables)


def direction_name(table: Doc) -> str:
    headsigns = [h for h in table.get("headsigns") or [] if h]
    if headsigns:
        return "To " + " / ".join(headsigns[:3]) + (" …" if len(headsigns) > 3 else "")
    direction = table.get("direction_id")
    return "No direction given" if direction is None else f"Direction {direction}"


def show_time(gtfs_time: str) -> Markup:
    """`07:05:00` -> `07:05`; past midnight `24:50:00` -> `00:50` marked as the next day."""
    match = _TIME.fullmatch(gtfs_time)
    if match is None:
        return escape(gtfs_time)
    hours, minutes = int(match[1]), match[2]
    return Markup(f"{hours:02d}:{minutes}" if hours < 24 else grid.late_time(hours, minutes))


def plain_time(gtfs_time: str) -> str:
    """The same as show_time, as plain text: `24:50:00` -> `00:50 (+1)`."""
    match = _TIME.fullmatch(gtfs_time)
    if match is None:
        return gtfs_time
    hours, minutes = int(match[1]), match[2]
    return f"{hours % 24:02d}:{minutes}" + (f" (+{hours // 24})" if hours >= 24 else "")


def first_time(trip: Doc) -> str:
    frequencies = trip.get("frequencies") or []
    if frequencies:
        return plain_time(frequencies[0]["start_time"])
    return next((plain_time(t) for t in trip["times"] if t), "")


def every(frequency: Doc) -> str:
    minutes = frequency["headway_secs"] / 60
    amount = f"{minutes:g} minutes" if minutes != 1 else "minute"
    return f"every {amount}, {plain_time(frequency['start_time'])} to {plain_time(frequency['end_time'])}"


def trip_header(trip: Doc) -> str:
    frequencies = trip.get("frequencies") or []
    label = text("; ".join(every(f) for f in frequencies) if frequencies else first_time(trip))
    cls = ' class="freq"' if frequencies else ""
    return f'<th scope="col" data-trip="{text(trip["trip_id"])}"{cls}>{label}'


def text(value: str) -> str:
    """`value` escaped for HTML as markupsafe's `escape` does, as a plain str: a route's headers and
    stop names are thousands of short strings, most with nothing to escape, and a Markup each costs a
    Python call."""
    return value if _SPECIAL.search(value) is None else str(escape(value))


class _Cells(dict[Any, str]):
    """Cell HTML by value, shared by every table, for the parts builder.site.grid cannot slice. Looked
    up with `map` over a row's values, so a row is made in one C loop; a value first met is made here."""

    def __missing__(self, value: str) -> str:
        cell = "<td>" + str(show_time(value))  # str + Markup would escape the str
        if len(self) < 100_000:
            self[value] = cell
        return cell


_CELLS = _Cells({None: "<td>", "": grid.UNTIMED_CELL})


def table_html(part: Part, root: str) -> Iterator[Markup]:
    """The rows of one table part, a piece per row, so a page streams out row by row. Cells are plain
    strings joined once per row (a Markup per cell costs several times more on millions of cells)."""
    trips = part.trips
    yield Markup('<thead><tr><th scope="col">Stop')
    yield Markup("".join([trip_header(t) for t in trips]))  # every piece escaped by trip_header
    yield Markup("</thead><tbody>")
    stops = part.table["stops"]
    # every piece is a fixed tag, an escaped name or a checked time
    for stop, cells in zip(stops, row_cells(trips, len(stops)), strict=True):
        yield Markup(f'<tr><th scope="row">{stop_link(stop, root)}' + cells)
    yield Markup("</tbody>")


def row_cells(trips: list[Doc], stops: int) -> list[str] | Iterator[str]:
    """Each stop's cells, a cell per trip: sliced out of the times at once (builder.site.grid) when
    they are all plain times, else a cell at a time (every trip has a time or None for every stop)."""
    sliced = grid.rows(trips, stops)
    if sliced is not None:
        return sliced
    if not trips:
        return [""] * stops
    cell = _CELLS.__getitem__
    return ("".join(map(cell, values)) for values in zip(*(t["times"] for t in trips), strict=True))


def stop_link(stop: Doc, root: str) -> str:
    name = text(stop.get("stop_name") or stop["stop_id"])
    href = stop.get("href")
    return f'<a href="{text(root + page_of(href))}">{name}</a>' if href else name
