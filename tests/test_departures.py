"""Departure boards and services.json, rule by rule, on small feeds written here (tests/departure_feeds.py),
each also checked by the independent departures oracle."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from builder.build import BuildResult, BuildSettings, build
from builder.importer.run import import_feed
from tests.conftest import DEPARTURES_ORACLE, Builder, assert_oracle_agrees
from tests.departure_feeds import DST_FEED, OWN_ZONE_PLATFORM_FEED, RULES_FEED
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest
from tests.test_import_support import write_feed

RULES_WINDOW = (date(2026, 4, 6), 2)


def _board(result: BuildResult, day: str, stop: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((result.release / f"departures/{day}/{stop}.json").read_bytes())
    return loaded


def _times(board: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(d["trip_id"], d["service_date"], d["departure"] or d["arrival"]) for d in board["departures"]]


@pytest.fixture
def rules(build_feed: Builder, tmp_path: Path) -> BuildResult:
    return build_feed(write_feed(tmp_path / "rules", RULES_FEED), window=RULES_WINDOW)


def _oracle(feed: Path, result: BuildResult) -> None:
    if not DEPARTURES_ORACLE.is_file():
        pytest.skip(f"the departures oracle is not beside the repo ({DEPARTURES_ORACLE} is absent)")
    assert_oracle_agrees(DEPARTURES_ORACLE, feed, result.release, "--sample", "0")


def test_departures_spring_forward_night(build_feed: Builder, tmp_path: Path) -> None:
    """2026-03-08: 01:30 counts from 23:00 EST the evening before (noon minus 12 h), 25:30 of the day
    before lands at 01:30 EST, the 25:30 of the DST day and the 01:30 of the next one after the change."""
    result = build_feed(write_feed(tmp_path / "dst", DST_FEED), window=(date(2026, 3, 7), 3))
    assert _times(_board(result, "20260308", "A")) == [
        ("early", "20260308", "2026-03-08T00:30:00-05:00"),
        ("late", "20260307", "2026-03-08T01:30:00-05:00"),
    ]
    assert _times(_board(result, "20260309", "A")) == [
        ("early", "20260309", "2026-03-09T01:30:00-04:00"),
        ("late", "20260308", "2026-03-09T01:30:00-04:00"),
    ]
    late = _board(result, "20260308", "A")["departures"][1]
    assert (late["departure_time"], late["arrival_time"]) == ("25:30:00", "25:30:00")


def test_departures_fall_back_night(build_feed: Builder, tmp_path: Path) -> None:
    """2026-11-01 holds 01:30 twice: the day before's 25:30 first (EDT), the day's own 01:30 an hour later (EST)."""
    feed = write_feed(tmp_path / "dst", DST_FEED)
    result = build_feed(feed, window=(date(2026, 10, 31), 3))
    board = _board(result, "20261101", "A")
    assert _times(board) == [
        ("late", "20261031", "2026-11-01T01:30:00-04:00"),
        ("early", "20261101", "2026-11-01T01:30:00-05:00"),
    ]
    assert board["timezone"] == "America/New_York" and board["date"] == "20261101"
    # The window's first date also shows the previous service day's 25:30 (2026-10-30).
    assert ("late", "20261030", "2026-10-31T01:30:00-04:00") in _times(_board(result, "20261031", "A"))
    _oracle(feed, result)


def test_departures_removed_holiday_and_calendar_dates_only_service(rules: BuildResult) -> None:
    holiday, tuesday = _board(rules, "20260406", "P3"), _board(rules, "20260407", "P3")
    assert [(d["trip_id"], d["service_id"]) for d in holiday["departures"]] == [("t-hol", "HOL")]
    assert "t-hol" not in {d["trip_id"] for d in tuesday["departures"]}
    assert _board(rules, "20260406", "LOOP")["departures"] == []  # weekday service removed on Easter Monday


def test_departures_loop_trip_appears_at_each_visit(rules: BuildResult) -> None:
    board = _board(rules, "20260407", "LOOP")
    assert [(d["trip_id"], d["stop_sequence"], d["departure"]) for d in board["departures"]] == [
        ("t-loop", 1, "2026-04-07T08:00:00-04:00"),
        ("t-loop", 3, "2026-04-07T08:20:00-04:00"),
    ]
    first, last = board["departures"]
    assert (first["drop_off_type"], first["pickup_type"], last["pickup_type"]) == (1, 0, 1)
    assert board["routes"]["R1"]["href"] == "routes/R1.json"


def test_departures_station_lists_its_platforms(rules: BuildResult) -> None:
    board = _board(rules, "20260407", "STA")
    platforms = {d["stop_id"] for d in board["departures"]}
    assert platforms == {"P1", "P2", "P3"}
    instants = [d["departure"] or d["arrival"] for d in board["departures"]]
    assert instants == sorted(instants)
    assert board["stop"] == {
        "stop_id": "STA",
        "stop_name": "Central",
        "stop_lat": 40.7,
        "stop_lon": -74.0,
        "href": "stops/STA.json",
    }
    assert _board(rules, "20260407", "ENT")["departures"] == []  # an entrance gets a board too


def test_departures_stop_timezone_of_its_own(rules: BuildResult) -> None:
    """24:30 New York time of 2026-04-07 is 23:30 in Chicago, so it is on the 7th's board there."""
    board = _board(rules, "20260407", "CHI")
    assert board["timezone"] == "America/Chicago"
    (late,) = board["departures"]
    assert (late["arrival"], late["departure"], late["arrival_time"], late["departure_time"]) == (
        "2026-04-07T23:30:00-05:00",
        None,
        "24:30:00",
        None,
    )
    assert not (rules.release / "departures/20260408").exists()  # outside the window


def test_departures_interpolate_non_timepoints(rules: BuildResult) -> None:
    """By distance (0, 1, 2.5 of 7 over 10 minutes: 85.7 s and 214.3 s, floored), else by stop count."""
    n1, n2 = _board(rules, "20260407", "N1"), _board(rules, "20260407", "N2")
    got = {(d["trip_id"], d["departure_time"], d["estimated"]) for d in n1["departures"] + n2["departures"]}
    assert got == {
        ("t-dist", "12:01:25", True),
        ("t-dist", "12:03:34", True),
        ("t-count", "13:03:20", True),
        ("t-count", "13:06:40", True),
    }  # t-tail: nothing after it
    timed = _board(rules, "20260407", "END")["departures"]
    assert {d["estimated"] for d in timed} == {False}  # timepoint 0 with times is not estimated


def test_departures_frequency_runs(rules: BuildResult) -> None:
    board = _board(rules, "20260407", "P2")
    runs = [(d["departure_time"], d["frequency"]) for d in board["departures"] if d["trip_id"] == "f-0"]
    assert runs == [
        (f"06:{m:02d}:00", {"start_time": f"06:{m:02d}:00", "headway_secs": 1200, "exact_times": 0})
        for m in (0, 20, 40)
    ]
    exact = [
        (d["arrival_time"], d["departure_time"], d["frequency"]["start_time"])
        for d in _board(rules, "20260407", "P3")["departures"]
        if d["trip_id"] == "f-1"
    ]
    # the trip's first departure is 05:01, so each run shifts its times by (start - 05:01)
    assert exact == [("06:59:00", "07:00:00", "07:00:00"), ("07:14:00", "07:15:00", "07:15:00")]
    assert all(d["frequency"] is None for d in _board(rules, "20260407", "LOOP")["departures"])


def test_services_json_lists_every_service(rules: BuildResult) -> None:
    doc = orjson.loads((rules.release / "services.json").read_bytes())
    assert doc["services"]["HOL"] == {"service_id": "HOL", "dates": ["20260406"]}
    assert doc["services"]["GONE"] == {"service_id": "GONE", "dates": []}
    weekdays = doc["services"]["WD"]["dates"]
    assert "20260406" not in weekdays and "20260407" in weekdays and weekdays == sorted(weekdays)
    assert (doc["start_date"], doc["end_date"]) == ("20260101", "20261231")
    feed = orjson.loads((rules.release / "feed.json").read_bytes())
    assert feed["links"]["services"] == "services.json"
    assert feed["departures"] == {"from": "20260406", "days": 2, "href": "departures/{date}/{stop_key}.json"}


def test_departures_documents_fit_models_and_pass_the_oracle(rules: BuildResult, tmp_path: Path) -> None:
    entries = manifest(rules.release)
    boards = [e for e in entries if e.kind == "departures"]
    assert len(boards) == 2 * 10 and {e.path.split("/")[1] for e in boards} == {"20260406", "20260407"}
    check_against_models(rules.release, entries)
    check_hashes_and_hrefs(rules.release)
    _oracle(tmp_path / "rules.zip", rules)


def test_departures_days_zero_writes_no_boards(build_feed: Builder, tmp_path: Path) -> None:
    result = build_feed(write_feed(tmp_path / "rules", RULES_FEED), window=(date(2026, 4, 6), 0))
    assert not [e for e in manifest(result.release) if e.kind == "departures"]
    assert not [p for p in (result.release / "departures").rglob("*") if p.is_file()]
    assert orjson.loads((result.release / "feed.json").read_bytes())["departures"]["days"] == 0


ODD_TEXT = st.text(alphabet="aZ09 \"\\/é東+#,'<>&\u2028", min_size=1, max_size=6).map(str.strip).filter(bool)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a build per example: no slow shrinking
)
@given(
    trip=ODD_TEXT,
    route=ODD_TEXT,
    stop=ODD_TEXT,
    headsign=st.one_of(st.just(""), ODD_TEXT),
    direction=st.sampled_from(["", "0", "1"]),
    pickup=st.sampled_from(["", "0", "1", "3"]),
    times=st.sampled_from([("08:00:00", "08:00:30"), ("25:59:59", ""), ("", "00:00:00")]),
)
def test_departures_spliced_json_is_what_orjson_writes(
    tmp_path_factory: pytest.TempPathFactory,
    trip: str,
    route: str,
    stop: str,
    headsign: str,
    direction: str,
    pickup: str,
    times: tuple[str, str],
) -> None:
    """Boards are assembled from pre-serialized pieces: byte for byte what orjson writes for the parsed
    document (sorted keys), whatever the ids and headsigns hold."""
    folder = tmp_path_factory.mktemp("odd")
    files = dict(
        DST_FEED,
        **{
            "stops.txt": _csv(
                ["stop_id", "stop_name", "stop_lat", "stop_lon"],
                [[stop, headsign, "40.7", "-74.0"], [stop + "x", "", "40.7", "-74.0"]],
            ),
            "routes.txt": _csv(
                ["route_id", "agency_id", "route_short_name", "route_type"], [[route, "A", "1", "3"]]
            ),
            "trips.txt": _csv(
                ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"],
                [[route, "D", trip, headsign, direction]],
            ),
            "stop_times.txt": _csv(
                ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "pickup_type"],
                [[trip, *times, stop, "1", pickup], [trip, "27:00:00", "27:00:00", stop + "x", "2", ""]],
            ),
        },
    )
    db = folder / "gtfs.sqlite"
    import_feed(write_feed(folder / "feed", files), db_url=f"sqlite:///{db}")
    result = build(
        BuildSettings(
            db_url=f"sqlite:///{db}",
            out_dir=folder / "out",
            departures_from=date(2026, 3, 8),
            departures_days=2,
        )
    )
    found = [
        e for e in manifest(result.release) if e.kind == "departures" and (e.id or "").endswith("/" + stop)
    ]
    departures = []
    for entry in found:
        raw = (result.release / entry.path).read_bytes()
        assert raw == orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
        departures += orjson.loads(raw)["departures"]
    # once or twice: the daily service's 00:00:00 of 2026-03-08 is at 23:00 the day before (spring forward)
    assert departures and {
        (d["trip_id"], d["route_id"], d["stop_id"], d["trip_headsign"] or "") for d in departures
    } == {(trip, route, stop, headsign)}


def test_departures_platform_with_its_own_zone_in_a_station_without_one(
    build_feed: Builder, tmp_path: Path
) -> None:
    result = build_feed(write_feed(tmp_path / "zones", OWN_ZONE_PLATFORM_FEED), window=(date(2026, 6, 1), 2))
    platform, station = _board(result, "20260602", "X"), _board(result, "20260602", "A")
    assert platform["timezone"] == "America/Chicago" and station["timezone"] == "America/New_York"
    # 01:30 New York time on 2026-06-02 is 00:30 in Chicago: the platform's and the station's board of the 2nd
    assert _times(platform) == _times(station) == [("early", "20260602", "2026-06-02T00:30:00-05:00")]
    # 01:30 of 2026-06-01 is 00:30 of the 1st in Chicago and 01:30 in New York: on the 1st's boards too
    assert _times(_board(result, "20260601", "A")) == [("early", "20260601", "2026-06-01T00:30:00-05:00")]
