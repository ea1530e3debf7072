"""The timetable rows sliced out of the times at once (builder.site.grid) are the rows made a cell at a
time (builder.site.tables), and times the slices cannot read fall back to that way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.site import grid, tables

# what a timetable's times are: plain times, past midnight (even days later), absent and untimed
TIMES = st.one_of(
    st.none(),
    st.just(""),
    st.builds(
        lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}",
        st.integers(0, 99),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
)


def trips_of(columns: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"trip_id": f"T{n}", "times": times} for n, times in enumerate(columns)]


def slow(trips: list[dict[str, Any]]) -> list[str]:
    cell = tables._CELLS.__getitem__
    return ["".join(map(cell, values)) for values in zip(*(t["times"] for t in trips), strict=True)]


@given(
    st.integers(1, 6).flatmap(
        lambda stops: st.lists(st.lists(TIMES, min_size=stops, max_size=stops), min_size=1, max_size=8)
    )
)
def test_grid_rows_are_the_cells_made_one_at_a_time(columns: list[list[Any]]) -> None:
    trips = trips_of(columns)
    sliced = grid.rows(trips, len(columns[0]))
    assert sliced is not None
    assert sliced == slow(trips)


def test_grid_rows_show_times_past_midnight_as_the_next_days() -> None:
    trips = trips_of([["23:59:00", "24:10:30", "49:00:00"], [None, "", "07:05:59"]])
    assert grid.rows(trips, 3) == [
        "<td>23:59<td>",
        '<td>00:10<small title="1 day(s) later">+1</small><td class="nt">•',
        '<td>01:00<small title="2 day(s) later">+2</small><td>07:05',
    ]


@pytest.mark.parametrize(
    "odd",
    [
        "7:05:00",  # one-digit hour
        "100:00:00",  # three-digit hour
        "<b>12:0</b>",
        "null",
        'a"b"c"d',
        "12:00\\00",
        "12,00,00",
        "12:00:0٣",  # a digit, but not an ASCII one
        "1200:000",
    ],
)
def test_grid_leaves_what_is_not_a_plain_time_to_the_cell_by_cell_way(odd: str) -> None:
    trips = trips_of([["08:00:00", None], [odd, "09:00:00"]])
    assert grid.rows(trips, 2) is None
    # and that way escapes it: no tag from a feed reaches the page
    rows = tables.row_cells(trips, 2)
    assert list(rows) == slow(trips)
    assert "<b>" not in "".join(slow(trips))


def test_grid_refuses_trips_whose_times_do_not_match_the_stops() -> None:
    assert grid.rows(trips_of([["08:00:00"], ["09:00:00", None]]), 1) is None
    assert grid.rows([], 3) is None
    with pytest.raises(ValueError):
        list(tables.row_cells(trips_of([["08:00:00"], ["09:00:00", None]]), 1))


@pytest.mark.parametrize("release", ["site_build", "caltrain_site"])
def test_grid_rows_of_real_timetables_are_the_cells_made_one_at_a_time(
    release: str, request: pytest.FixtureRequest
) -> None:
    root: Path = request.getfixturevalue(release)
    sliced = 0
    for path in sorted((root / "timetables").glob("*.json")):
        for part in tables.parts(orjson.loads(path.read_bytes())["timetables"]):
            if part.trips:
                rows = grid.rows(part.trips, len(part.table["stops"]))
                assert rows is not None, (path.name, part.index)
                assert rows == slow(part.trips)
                sliced += 1
    assert sliced > 0
