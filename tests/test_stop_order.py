"""The stop columns of a timetable (builder.snapshot.stop_order) and day types (builder.snapshot.day_types), on patterns and
services made up here: exact embedding always, one trip's stops when the others fit, each stop once when
an order allows it."""

from __future__ import annotations

from datetime import date, timedelta
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from builder.snapshot.day_types import day_label, day_type
from builder.snapshot.stop_order import Pattern, stop_columns

patterns = st.lists(
    st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=7).map(tuple),
    min_size=1,
    max_size=6,
    unique=True,
)


def _ordered_once(ps: list[Pattern]) -> bool:
    """An order of the stops keeping every pattern's order exists (and no pattern repeats a stop)."""
    graph: TopologicalSorter[str] = TopologicalSorter()
    for p in ps:
        for a, b in pairwise(p):
            graph.add(b, a)
    try:
        graph.prepare()
    except CycleError:
        return False
    return all(len(set(p)) == len(p) for p in ps)


def _is_subsequence(short: Pattern, long: Pattern) -> bool:
    rest = iter(long)
    return all(stop in rest for stop in short)


@given(patterns)
def test_stop_columns_embed_every_pattern_exactly(ps: list[Pattern]) -> None:
    stops, columns = stop_columns(ps)
    for pattern, cols in zip(ps, columns, strict=True):
        assert cols == sorted(set(cols)) and [stops[c] for c in cols] == list(pattern)
    assert {c for cols in columns for c in cols} == set(range(len(stops)))  # no column without a stop
    longest = max(ps, key=len)
    if all(_is_subsequence(p, longest) for p in ps):
        assert stops == list(longest)
    if _ordered_once(ps):
        assert len(stops) == len({s for p in ps for s in p})


def test_stop_columns_take_the_longest_trip_when_all_fit_in_it() -> None:
    stops, columns = stop_columns([("B", "C"), ("A", "B", "C", "D"), ("A", "D")])
    assert stops == ["A", "B", "C", "D"] and columns == [[1, 2], [0, 1, 2, 3], [0, 3]]


def test_stop_columns_repeat_a_stop_only_for_loops_and_conflicting_orders() -> None:
    assert stop_columns([("A", "B", "C", "A"), ("B", "C", "A", "D")])[0] == ["A", "B", "C", "A", "D"]
    stops, _ = stop_columns([("A", "B", "C"), ("C", "B", "A")])
    assert len(stops) == 5  # a trip each way in one table: one of them must read a stop twice


def _service(dates: list[date], **flags: int) -> dict[str, object]:
    return {
        "service_id": "S",
        **flags,
        "added_dates": [d.strftime("%Y%m%d") for d in dates],
        "removed_dates": [],
    }


def test_day_type_of_flags_and_of_dates_at_least_half_of_each_weekday() -> None:
    monday = date(2026, 3, 2)
    weekends = [
        monday + timedelta(days=n) for n in range(5, 56) if (monday + timedelta(days=n)).weekday() >= 5
    ]
    assert day_type(_service(weekends + [monday + timedelta(days=14)])) == (5, 6)  # one holiday Monday
    assert day_type(_service([], monday=1, friday=1, start_date="20260302", end_date="20260308")) == (0, 4)
    every_other_sunday = [monday + timedelta(days=6 + 14 * n) for n in range(4)]  # 4 of 7 Sundays in the span
    assert day_type(_service(every_other_sunday)) == (6,)
    assert day_type(_service([monday, monday + timedelta(days=30)])) == ()  # a Monday and a Wednesday
    assert day_type(_service([])) == () and day_type(None) == ()


def test_day_label_names_runs_and_lists_in_english() -> None:
    assert [day_label(d) for d in [(0, 1, 2, 3, 4, 5, 6), (0, 1, 2, 3, 4), (5,), (6,), (5, 6)]] == [
        "Daily",
        "Monday to Friday",
        "Saturday",
        "Sunday",
        "Saturday and Sunday",
    ]
    assert day_label((0, 1, 2, 3, 4, 5)) == "Monday to Saturday"
    assert day_label((1, 2, 3)) == "Tuesday to Thursday"
    assert day_label((0, 2, 4)) == "Monday, Wednesday and Friday"
    assert day_label((0, 1)) == "Monday and Tuesday"
    assert day_label((2,)) == "Wednesday"
    assert day_label(()) == "No scheduled service" and day_label((), dated=True) == "Selected dates"
