"""Timetables and maps on a feed the test writes (tests/timetable_feed.py): branches, short turns, loops,
trips without a usable shape, two directions and none, calendar_dates-only and never-running services,
frequencies; GeoJSON against RFC 7946; the independent timetable oracle on this feed and the sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from builder.build import BuildResult, BuildSettings, build
from builder.importer.run import import_feed
from tests.conftest import SAMPLE_FEED, TIMETABLE_ORACLE, Builder, assert_oracle_agrees
from tests.geojson_schema import GEOJSON_SCHEMA
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest
from tests.test_import_support import write_feed
from tests.timetable_feed import DANGLING_SHAPE, SHAPES, STOPS, TRIPS, timetable_feed

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("timetables")
    url = f"sqlite:///{tmp / 'feed.sqlite'}"
    import_feed(write_feed(tmp / "feed", timetable_feed()), db_url=url)
    result: BuildResult = build(BuildSettings(db_url=url, out_dir=tmp / "out", workers=2))
    return result.release


def _load(release: Path, path: str) -> Any:
    return orjson.loads((release / path).read_bytes())


def _tables(release: Path, route: str) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = _load(release, f"timetables/{route}.json")["timetables"]
    return tables


def _grid(table: dict[str, Any]) -> dict[str, list[str | None]]:
    return {t["trip_id"]: t["times"] for t in table["trips"]}


def test_timetable_groups_by_direction_then_day_type_in_order(release: Path) -> None:
    got = [(t["direction_id"], t["days"], t["label"], t["service_ids"]) for t in _tables(release, "BR")]
    assert got == [
        (0, WEEKDAYS, "Monday to Friday", ["WD"]),
        (0, ["saturday", "sunday"], "Saturday and Sunday", ["WKND"]),  # a holiday Monday does not count
        (0, [], "Selected dates", ["HOL"]),  # runs, but on no weekday half the time: last in its direction
        (1, WEEKDAYS, "Monday to Friday", ["WD"]),
        (1, [], "No scheduled service", ["NEVER"]),
        (None, WEEKDAYS, "Monday to Friday", ["WD"]),  # no direction_id: after 0 and 1
    ]
    placed = [t["trip_id"] for table in _tables(release, "BR") for t in table["trips"]]
    assert sorted(placed) == sorted(t for t, spec in TRIPS.items() if spec[0] == "BR")


def test_timetable_interleaves_a_branch_and_a_short_turn(release: Path) -> None:
    weekdays = _tables(release, "BR")[0]
    assert [s["stop_id"] for s in weekdays["stops"]] == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    assert weekdays["stops"][0] == {
        "stop_id": "S1",
        "stop_name": "Stop S1",
        "stop_lat": STOPS["S1"][0],
        "stop_lon": STOPS["S1"][1],
        "href": "stops/S1.json",
    }
    assert _grid(weekdays) == {  # departure, else arrival; "" stops without a time; null does not stop
        "BR-main-0700": ["07:00:00", "07:05:00", "07:10:00", "07:15:00", "07:20:00", None, None],
        "BR-branch-0730": ["07:30:00", "07:35:00", "07:40:00", None, None, "07:46:00", "07:52:00"],
        "BR-short-0800": [None, "08:00:00", "", "08:10:00", None, None, None],
    }
    assert list(_grid(weekdays)) == ["BR-main-0700", "BR-branch-0730", "BR-short-0800"]
    row = weekdays["trips"][0]
    assert row == {
        "trip_id": "BR-main-0700",
        "service_id": "WD",
        "trip_headsign": None,
        "href": "trips/BR-!main-0700.json",
        "frequencies": [],
        "times": row["times"],
    }


def test_timetable_stops_are_one_trips_stops_when_the_others_fit_in_them(release: Path) -> None:
    back = _tables(release, "BR")[3]
    assert [s["stop_id"] for s in back["stops"]] == ["S5", "S4", "S3", "S2", "S1"]
    assert list(_grid(back)) == ["BR-back-1700", "BR-back-1800", "BR-back-1900"]


def test_timetable_of_a_loop_lists_its_repeated_stop_twice(release: Path) -> None:
    (loop,) = _tables(release, "LP")
    assert [s["stop_id"] for s in loop["stops"]] == ["S1", "S8", "S9", "S1"]
    assert _grid(loop) == {
        "LP-1": ["06:00:00", "06:05:00", "06:10:00", "06:15:00"],
        "LP-2": [None, "06:35:00", "06:40:00", "06:45:00"],
    }


def test_timetable_keeps_each_stop_once_where_an_order_allows_it(release: Path) -> None:
    (table,) = _tables(release, "ZZ")
    assert [s["stop_id"] for s in table["stops"]] == ["T1", "TX", "T2", "T3", "T4"]
    for trip in table["trips"]:
        calls = [s for s, _, _ in TRIPS[trip["trip_id"]][4]]
        assert [table["stops"][i]["stop_id"] for i, c in enumerate(trip["times"]) if c is not None] == calls


def test_timetable_lists_a_frequency_trip_once_by_its_first_start_time(release: Path) -> None:
    (table,) = _tables(release, "FQ")
    assert [t["trip_id"] for t in table["trips"]] == ["FQ-s", "FQ-f", "FQ-t"]
    freq = table["trips"][1]["frequencies"]
    assert freq == [
        {"start_time": "06:00:00", "end_time": "10:00:00", "headway_secs": 600, "exact_times": 0},
        {"start_time": "10:00:00", "end_time": "12:00:00", "headway_secs": 1800, "exact_times": 1},
    ]
    assert table["trips"][0]["frequencies"] == []


def test_route_geojson_has_shapes_lines_through_stops_and_stop_points(release: Path) -> None:
    doc = _load(release, "routes/BR.geojson")
    jsonschema.Draft202012Validator(GEOJSON_SCHEMA).validate(doc)
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    shaped = {f["properties"]["shape_id"]: f for f in lines if not f["properties"]["from_stops"]}
    assert sorted(shaped) == ["sh_branch", "sh_main"]  # not GHOST (dangling), not one_pt (one point)
    for sid, feature in shaped.items():
        assert feature["geometry"]["coordinates"] == [list(p) for p in SHAPES[sid]]  # by shape_pt_sequence
    assert shaped["sh_main"]["properties"] == {
        "shape_id": "sh_main",
        "from_stops": False,
        "route_id": "BR",
        "direction_ids": [0],
        "trips": 2,
        "route_color": "D32F2F",
    }
    from_stops = {
        tuple(_stop_at(p) for p in f["geometry"]["coordinates"]): f["properties"]
        for f in lines
        if f["properties"]["from_stops"]
    }
    assert {k: (v["trips"], v["direction_ids"], v["shape_id"]) for k, v in from_stops.items()} == {
        ("S1", "S2", "S3", "S4", "S5"): (1, [0], None),  # the weekend trip without shape_id
        ("S5", "S4", "S3", "S2", "S1"): (3, [1], None),  # no shape_id, DANGLING_SHAPE, a one-point shape
        ("S1", "S3", "S5"): (1, [None], None),
        ("S1", "S2"): (1, [0], None),
        ("S2", "S1"): (1, [1], None),
    }
    assert DANGLING_SHAPE not in {f["properties"]["shape_id"] for f in lines}
    points = {f["properties"]["stop_id"]: f for f in doc["features"] if f["geometry"]["type"] == "Point"}
    assert sorted(points) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    for sid, point in points.items():  # [lon, lat]: stops.txt's stop_lat/stop_lon swapped
        assert point["geometry"]["coordinates"] == [STOPS[sid][1], STOPS[sid][0]]
        assert point["properties"] == {
            "stop_id": sid,
            "stop_name": f"Stop {sid}",
            "href": f"stops/{sid}.json",
        }


def _stop_at(position: list[float]) -> str:
    return next(s for s, (lat, lon) in STOPS.items() if [lon, lat] == position)


def test_stops_geojson_has_every_stop_with_coordinates(release: Path) -> None:
    doc = _load(release, "stops.geojson")
    jsonschema.Draft202012Validator(GEOJSON_SCHEMA).validate(doc)
    got = {f["properties"]["stop_id"]: f for f in doc["features"]}
    assert sorted(got) == sorted(STOPS)  # NODE has no coordinates: not on the map
    assert got["ST"]["properties"] == {
        "stop_id": "ST",
        "stop_name": "Stop ST",
        "location_type": 1,
        "parent_station": None,
        "href": "stops/ST.json",
    }
    for sid, (lat, lon) in STOPS.items():
        assert got[sid]["geometry"] == {"type": "Point", "coordinates": [lon, lat]}


def test_routes_index_links_each_routes_timetable_and_map(release: Path) -> None:
    routes = _load(release, "routes.json")["routes"]
    assert [(r["route_id"], r["timetable"], r["geojson"]) for r in routes] == [
        (r, f"timetables/{r}.json", f"routes/{r}.geojson") for r in ("BR", "FQ", "LP", "ZZ")
    ]
    assert _load(release, "feed.json")["links"]["stops_geojson"] == "stops.geojson"


def test_timetables_and_maps_fit_their_models_schemas_and_manifest(release: Path) -> None:
    check_hashes_and_hrefs(release)
    entries = manifest(release)
    assert {e.kind for e in entries} >= {"timetable", "route_geojson", "stops_geojson"}
    assert {e.media_type for e in entries if e.path.endswith(".geojson")} == {"application/geo+json"}
    check_against_models(release, entries)


@pytest.mark.parametrize("which", ["timetable_feed", "sample"])
def test_timetable_oracle_finds_no_mismatch(
    which: str, release: Path, build_feed: Builder, tmp_path: Path
) -> None:
    if not TIMETABLE_ORACLE.is_file():
        pytest.skip(f"the timetable oracle is not beside the repo ({TIMETABLE_ORACLE} is absent)")
    feed, root = (
        (write_feed(tmp_path / "feed", timetable_feed()), release)
        if which == "timetable_feed"
        else (SAMPLE_FEED, build_feed(SAMPLE_FEED).release)
    )
    assert_oracle_agrees(TIMETABLE_ORACLE, feed, root)
