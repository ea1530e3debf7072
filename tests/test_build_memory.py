"""The build's peak memory does not grow with the number of documents in the snapshot (issue 14): one feed
imported eight times (`import --feed`, eight times the documents, every feed as large as the one) builds
within a few MB of the same feed alone.

Before, every manifest entry (~480 bytes) was held until the end, and a forked helper's entries crossed a
pipe in one piece: the region of eight here peaked 26 MB above the one feed (79 against 53 MB), New
York's nine feeds (324k documents) at 363 MB. With the entries in sorted runs on disk
(builder.release.entries) it still grew by 10 MB: each feed's dead engine and metadata were frozen by
gc.freeze() before the helpers forked, out of reach of every later collection (builder.snapshot.workers
now collects first). What is left to grow is the region's own documents (feeds.json, the indexes across
feeds), kept small here: few stops and routes, many trips. Measured now: 51 against 54 MB.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.test_import_hostile import CLI, Run, run_measured

FEEDS = 8
TRIPS, STOPS, ROUTES = 6000, 60, 30  # per feed: ~6,200 documents, almost all trips
# What eight feeds may use above one: the root's indexes and feeds.json, eight feeds' bookkeeping.
# Holding the entries would add ~20 MB (43k more documents).
MARGIN_MB = 8


def _write(path: Path, header: str, lines: list[str]) -> None:
    path.write_text(header + "\n" + "".join(lines), encoding="utf-8")


def write_trips_feed(folder: Path) -> Path:
    """A valid feed of many short trips (two stop times each) over few stops and routes."""
    folder.mkdir(parents=True)
    _write(
        folder / "agency.txt",
        "agency_id,agency_name,agency_url,agency_timezone",
        ["A,Trips,https://a.example/,America/New_York\n"],
    )
    _write(
        folder / "calendar.txt",
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date",
        ["WK,1,1,1,1,1,0,0,20260101,20261231\n"],
    )
    _write(
        folder / "stops.txt",
        "stop_id,stop_name,stop_lat,stop_lon",
        [f"S{s},Stop {s},{40 + s / 1e3:.6f},{-74 + s / 1e3:.6f}\n" for s in range(STOPS)],
    )
    _write(
        folder / "routes.txt",
        "route_id,agency_id,route_short_name,route_type",
        [f"R{r},A,{r},3\n" for r in range(ROUTES)],
    )
    _write(
        folder / "trips.txt",
        "route_id,service_id,trip_id",
        [f"R{t % ROUTES},WK,T{t:05d}\n" for t in range(TRIPS)],
    )
    times = []
    for t in range(TRIPS):
        hour, minute = 5 + t % 18, t % 50
        times.append(f"T{t:05d},{hour:02d}:{minute:02d}:00,{hour:02d}:{minute:02d}:00,S{t % STOPS},1\n")
        times.append(
            f"T{t:05d},{hour:02d}:{minute + 9:02d}:00,{hour:02d}:{minute + 9:02d}:00,S{(t + 1) % STOPS},2\n"
        )
    _write(folder / "stop_times.txt", "trip_id,arrival_time,departure_time,stop_id,stop_sequence", times)
    return folder


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trips_feed(tmp_path_factory.mktemp("trips") / "feed")


def _region(feed: Path, where: Path, feeds: int) -> Run:
    """`feeds` copies of `feed` in one database, built; the build's run, measured."""
    url = f"sqlite:///{where / 'region.sqlite'}"
    for n in range(feeds):
        imported = run_measured([CLI, "import", str(feed), "--db", url, "--feed", f"f{n}"])
        assert imported.status == 0, imported
    return run_measured(
        [CLI, "build", "--db", url, "--out", str(where / "out"), "--workers", "2", "--departures-days", "0"]
    )


def _documents(out: Path) -> int:
    return sum(orjson.loads((out / "current" / "build-info.json").read_bytes())["documents"].values())


def test_build_peak_memory_does_not_grow_with_the_documents(feed: Path, tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one, many = _region(feed, tmp_path / "one", 1), _region(feed, tmp_path / "many", FEEDS)
    assert one.status == 0 and many.status == 0, (one, many)
    assert _documents(tmp_path / "many" / "out") > (FEEDS - 0.5) * _documents(tmp_path / "one" / "out")
    assert _documents(tmp_path / "one" / "out") > TRIPS
    assert many.rss_mb - one.rss_mb < MARGIN_MB, (one, many)
