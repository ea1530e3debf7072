"""Times for stop_times rows that have none (non-timepoint stops), interpolated as departure boards need.

A row whose arrival and departure are both empty gets a time between the previous timed row's departure
(its arrival when it has none) and the next timed row's arrival (else departure): in proportion to
shape_dist_traveled when that row and both timed neighbours have one (and the neighbours' differ), else
in proportion to the number of rows between them; exact arithmetic (fractions, distances as written),
rounded down to the second. A row with no timed row on one side gets nothing, and is not listed.

Only trips having such rows are read, in one pass ordered by trip and stop_sequence.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, and_, null, or_, select

from builder.snapshot.clock import parse_gtfs_time
from builder.snapshot.source import Source


class Estimates:
    """trip_id -> (stop_sequences, seconds) of its interpolated rows, as two arrays of 8-byte ints.

    Bounded by the number of rows without times in the feed (portoalegre: 22,266 rows in 387 trips,
    about 16 bytes a row plus a small header per trip), never by stop_times as a whole."""

    def __init__(self) -> None:
        self._trips: dict[str, tuple[array[int], array[int]]] = {}

    def add(self, trip_id: str, rows: list[tuple[int, int]]) -> None:
        if rows:
            self._trips[trip_id] = (array("q", [r[0] for r in rows]), array("q", [r[1] for r in rows]))

    def get(self, trip_id: str, stop_sequence: int) -> int | None:
        found = self._trips.get(trip_id)
        if found is None:
            return None
        seqs, times = found
        i = bisect_left(seqs, stop_sequence)
        return times[i] if i < len(seqs) and seqs[i] == stop_sequence else None

    def __len__(self) -> int:
        return sum(len(seqs) for seqs, _ in self._trips.values())


def _distance(value: Any) -> Fraction | None:
    """shape_dist_traveled exactly as written: a float column's shortest repr is the written decimal."""
    if value is None:
        return None
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        return Fraction(text) if text else None
    except ValueError:
        return None


def interpolate(rows: Sequence[tuple[int, int | None, int | None, Fraction | None]]) -> list[tuple[int, int]]:
    """(stop_sequence, seconds) for each untimed row of one trip, rows being (stop_sequence, arrival,
    departure, distance) in stop_sequence order."""
    timed = [i for i, r in enumerate(rows) if r[1] is not None or r[2] is not None]
    out = []
    for a, b in pairwise(timed):
        if b - a < 2:
            continue
        start = rows[a][2] if rows[a][2] is not None else rows[a][1]
        end = rows[b][1] if rows[b][1] is not None else rows[b][2]
        assert start is not None and end is not None
        da, db = rows[a][3], rows[b][3]
        for k in range(a + 1, b):
            dk = rows[k][3]
            share = (
                (dk - da) / (db - da)
                if da is not None and db is not None and dk is not None and da != db
                else Fraction(k - a, b - a)
            )
            out.append((rows[k][0], start + math.floor((end - start) * share)))
    return out


def load_estimates(source: Source, conn: Connection) -> Estimates:
    st = source.table("stop_times")
    arrival, departure = st.c.arrival_time, st.c.departure_time
    untimed = and_(or_(arrival.is_(None), arrival == ""), or_(departure.is_(None), departure == ""))
    needy = select(st.c.trip_id).where(untimed).distinct().subquery()
    has_distance = "shape_dist_traveled" in st.c
    distance = st.c.shape_dist_traveled if has_distance else null()
    stmt = (
        select(st.c.trip_id, st.c.stop_sequence, arrival, departure, distance)
        .join_from(st, needy, st.c.trip_id == needy.c.trip_id)
        .order_by(source.by_id(st.c.trip_id), st.c.stop_sequence)
    )
    estimates = Estimates()
    for trip_id, rows in groupby(source.rows(conn, stmt), itemgetter(0)):
        estimates.add(trip_id, interpolate(_timed_rows(rows)))
    return estimates


def _timed_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[int, int | None, int | None, Fraction | None]]:
    return [(int(r[1]), parse_gtfs_time(r[2]), parse_gtfs_time(r[3]), _distance(r[4])) for r in rows]
