"""The import's duplicate and reference checks at scale, the same on SQLite and PostgreSQL (issue 14).

Tens of thousands of repeated keys and ids to look up: each check must stay a sort or an index walk. On
PostgreSQL the reference check used NOT IN, which rescans the target for every value once the target
outgrows work_mem, and the deletion of repeated rows looked for an earlier equal row with IS NOT DISTINCT
FROM, which no index serves: both quadratic, minutes for this feed. work_mem is set tiny here so that
the first shows at a size a test can afford (a million trips do it at the default 4 MB).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import make_url

from builder.errors import FeedError
from builder.importer.run import import_feed
from tests.test_import_support import feed_files, write_feed

TRIPS = 30_000
ST_HEADER = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
MAX_SECONDS = 60  # each import here takes a few seconds; the quadratic plans took minutes


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    pg_url: str = request.getfixturevalue("pg_url")
    return make_url(pg_url).update_query_dict({"options": "-c work_mem=64kB"}).render_as_string(False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request, tmp_path)


@pytest.fixture(scope="module")
def many_duplicates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TRIPS trips of two stop times each, every stop time followed by one with its key and another
    time (a duplicate) and by an exact copy of itself (a repeated row, dropped with a warning)."""
    stop_times = [ST_HEADER]
    for t in range(TRIPS):
        for seq, stop in ((1, "S1"), (2, "S2")):
            row = f"T{t},08:0{seq}:00,08:0{seq}:00,{stop},{seq}\n"
            stop_times += [row, row, f"T{t},09:0{seq}:00,09:0{seq}:00,{stop},{seq}\n"]
    files = feed_files(
        trips="route_id,service_id,trip_id\n" + "".join(f"R1,WK,T{t}\n" for t in range(TRIPS)),
        stop_times="".join(stop_times),
    )
    return write_feed(tmp_path_factory.mktemp("many") / "feed", files, as_zip=False)


def test_import_refuses_many_duplicates_naming_the_first_lines(many_duplicates: Path, db_url: str) -> None:
    start = time.monotonic()
    with pytest.raises(FeedError) as caught:
        import_feed(many_duplicates, db_url=db_url, max_problems=3)
    assert time.monotonic() - start < MAX_SECONDS
    assert str(caught.value).startswith(f"import of {many_duplicates} refused: 60000 problems (the first 3")
    assert caught.value.problems == [
        "stop_times.txt:4: duplicate trip_id 'T0', stop_sequence 1 (first on line 2)",
        "stop_times.txt:7: duplicate trip_id 'T0', stop_sequence 2 (first on line 5)",
        "stop_times.txt:10: duplicate trip_id 'T1', stop_sequence 1 (first on line 8)",
    ]


def test_import_skip_invalid_drops_many_duplicates_keeping_the_first(
    many_duplicates: Path, db_url: str
) -> None:
    start = time.monotonic()
    report = import_feed(many_duplicates, db_url=db_url, skip_invalid=True)
    assert time.monotonic() - start < MAX_SECONDS
    assert report.dropped == {"repeated_row": 2 * TRIPS, "duplicate": 2 * TRIPS}
    assert report.rows["stop_times"] == 2 * TRIPS
    assert report.warnings == [
        f"stop_times.txt: dropped {2 * TRIPS} rows repeating an earlier row exactly",
        f"stop_times.txt: dropped {2 * TRIPS} rows repeating the trip_id/stop_sequence of an earlier row",
    ]


def test_import_refuses_many_dangling_references_against_a_large_target(tmp_path: Path, db_url: str) -> None:
    # Every trip is there but one in ten stop times names a trip that is not: the anti-join walks
    # TRIPS ids against TRIPS ids.
    stop_times = ST_HEADER + "".join(
        f"{'X' if t % 10 == 0 else 'T'}{t},08:00:00,08:00:00,S1,1\n" for t in range(TRIPS)
    )
    files = feed_files(
        trips="route_id,service_id,trip_id\n" + "".join(f"R1,WK,T{t}\n" for t in range(TRIPS)),
        stop_times=stop_times,
    )
    feed = write_feed(tmp_path / "feed", files, as_zip=False)
    start = time.monotonic()
    with pytest.raises(FeedError) as caught:
        import_feed(feed, db_url=db_url, max_problems=2)
    assert time.monotonic() - start < MAX_SECONDS
    assert f"refused: {TRIPS // 10} problems (the first 2 listed)" in str(caught.value)
    assert caught.value.problems == [
        "stop_times.txt:2: trip_id 'X0' is not in trips.txt",
        "stop_times.txt:12: trip_id 'X10' is not in trips.txt",
    ]
