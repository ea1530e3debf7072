"""The build on the project's sample feed: golden files, determinism, the contract, publishing."""

from __future__ import annotations

import filecmp
import os
import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest

from builder.build import BuildSettings, build
from builder.errors import DatabaseError, FeedError
from builder.snapshot.source import KeyRange
from builder.snapshot.tasks import split_evenly
from tests.conftest import DEPARTURES_ORACLE, ORACLE, REPO, SAMPLE_FEED, Builder, assert_oracle_agrees
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest

GOLDEN = REPO / "tests" / "golden" / "sample"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "build-info.json"
    }


def test_build_matches_golden_snapshot(build_feed: Builder) -> None:
    """The sample feed's snapshot, byte for byte. Regenerate: TRANSIT_SNAPSHOT_UPDATE_GOLDEN=1 pytest."""
    release = build_feed(SAMPLE_FEED).release
    if os.environ.get("TRANSIT_SNAPSHOT_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(release, GOLDEN, ignore=shutil.ignore_patterns("build-info.json"))
    got, want = _tree(release), _tree(GOLDEN)
    assert sorted(got) == sorted(want)
    changed = [name for name in got if got[name] != want[name]]
    assert not changed, f"documents differ from the golden files: {changed[:10]}"


def test_build_is_byte_identical_for_the_same_database(build_feed: Builder, tmp_path: Path) -> None:
    first = build_feed(SAMPLE_FEED, out=tmp_path / "a")
    second = build_feed(SAMPLE_FEED, out=tmp_path / "b", workers=2)
    assert first.build_id == second.build_id
    cmp = filecmp.dircmp(first.release, second.release, ignore=["build-info.json"])
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only


def test_build_of_unchanged_database_publishes_nothing_new(build_feed: Builder, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build_feed(SAMPLE_FEED, out=out)
    link_before = os.lstat(out / "current")
    second = build_feed(SAMPLE_FEED, out=out)
    assert first.published and not second.published
    assert second.build_id == first.build_id
    assert os.lstat(out / "current").st_ino == link_before.st_ino


def test_build_documents_fit_models_and_schemas(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    check_against_models(release, manifest(release))


def test_build_manifest_hashes_and_hrefs_resolve(build_feed: Builder) -> None:
    check_hashes_and_hrefs(build_feed(SAMPLE_FEED).release)


def test_build_publishes_current_as_relative_symlink(build_feed: Builder, tmp_path: Path) -> None:
    result = build_feed(SAMPLE_FEED, out=tmp_path / "out")
    target = os.readlink(tmp_path / "out" / "current")
    assert target == f"releases/{result.build_id}"
    assert not [p for p in (tmp_path / "out" / "releases").iterdir() if p.name.startswith(".tmp-")]


def test_build_passes_the_independent_oracle(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    if not ORACLE.is_file():
        pytest.skip(f"the oracle is not beside the repo ({ORACLE} is absent)")
    assert_oracle_agrees(ORACLE, SAMPLE_FEED, release)


def test_build_passes_the_departures_oracle(build_feed: Builder) -> None:
    """Every board of the sample's window (spring forward, Easter holidays) field by field."""
    release = build_feed(SAMPLE_FEED).release
    if not DEPARTURES_ORACLE.is_file():
        pytest.skip(f"the departures oracle is not beside the repo ({DEPARTURES_ORACLE} is absent)")
    assert_oracle_agrees(DEPARTURES_ORACLE, SAMPLE_FEED, release, "--sample", "0")


def test_build_gives_every_entity_a_document_even_without_trips(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    route = orjson.loads((release / "routes/X9.json").read_bytes())
    assert route["trips"] == [] and route["stops"] == {} and route["route"]["route_id"] == "X9"
    stop = orjson.loads((release / "stops/MILL.json").read_bytes())
    assert stop["trips"] == [] and stop["routes"] == {}


def test_build_keeps_ids_values_and_times_as_the_feed_wrote_them(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    stop = orjson.loads((release / "stops/007.json").read_bytes())["stop"]
    assert stop["stop_id"] == "007" and isinstance(stop["stop_lat"], float)
    night = orjson.loads((release / "trips/N1-WE-2450.json").read_bytes())
    times = [st["departure_time"] for st in night["stop_times"]]
    assert times[0] == "24:50:00" and all(t is None or len(t) == 8 for t in times)
    early = orjson.loads((release / "trips/L4S-WD-0530.json").read_bytes())
    assert early["stop_times"][0]["arrival_time"] == "05:30:00"
    assert early["trip"]["direction_id"] in (0, 1)


def test_build_loop_trip_appears_once_per_visit(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    entry = next(e for e in manifest(release) if e.kind == "stop" and e.id == "Hbf/Gleis 2")
    visits = orjson.loads((release / entry.path).read_bytes())["trips"]
    loop = [v["stop_sequence"] for v in visits if v["trip_id"] == "L4S-WD-0530"]
    assert loop == [1, 7]


def test_build_stop_links_parent_and_children(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    station = orjson.loads((release / "stops/HBF.json").read_bytes())["stop"]
    assert {c["stop_id"] for c in station["children"]} >= {"Hbf/Gleis 1", "Hbf/Gleis 2"}
    entry = next(e for e in manifest(release) if e.kind == "stop" and e.id == "Hbf/Gleis 1")
    platform = orjson.loads((release / entry.path).read_bytes())["stop"]
    assert platform["parent"]["stop_id"] == "HBF" and platform["parent"]["href"] == "stops/HBF.json"


def test_build_refuses_a_database_with_orphans_and_publishes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE agency (agency_id TEXT, agency_name TEXT, agency_url TEXT, agency_timezone TEXT);
        CREATE TABLE routes (route_id TEXT, agency_id TEXT, route_short_name TEXT, route_type INTEGER);
        CREATE TABLE trips (route_id TEXT, service_id TEXT, trip_id TEXT);
        CREATE TABLE stops (stop_id TEXT, stop_name TEXT, stop_lat REAL, stop_lon REAL);
        CREATE TABLE stop_times (trip_id TEXT, stop_id TEXT, stop_sequence INTEGER,
                                 arrival_time TEXT, departure_time TEXT);
        INSERT INTO routes VALUES ('R', NULL, '1', 3);
        INSERT INTO trips VALUES ('R', 'S', 'T1'), ('GONE', 'S', 'T2');
        INSERT INTO stops VALUES ('A', 'Alpha', 1.0, 2.0);
        INSERT INTO stop_times VALUES ('T1', 'A', 1, '08:00:00', '08:00:00'), ('T1', 'NOPE', 2, NULL, NULL);
    """)
    con.commit()
    con.close()
    with pytest.raises(FeedError) as err:
        build(BuildSettings(db_url=f"sqlite:///{db}", out_dir=tmp_path / "out"))
    assert "'GONE' not in routes" in str(err.value)
    assert not (tmp_path / "out" / "current").exists()


def test_build_reports_missing_database_clearly(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database at"):
        build(BuildSettings(db_url=f"sqlite:///{tmp_path / 'missing.sqlite'}", out_dir=tmp_path / "out"))


def test_split_evenly_covers_every_id_in_balanced_contiguous_ranges() -> None:
    weights = [("A", 5), ("B", 1), ("C", 1), ("D", 1), ("E", 1), ("F", 1)]
    ranges = split_evenly(weights, 2)
    assert ranges == [KeyRange(None, "B"), KeyRange("B", None)]
    assert split_evenly([("x", 3)], 2)[0] == KeyRange(None, None)
    assert split_evenly([], 2) == [KeyRange(None, None)]
    even = split_evenly([(f"{i:03d}", 1) for i in range(100)], 4)
    assert [r.low for r in even] == [None, "025", "050", "075"]
    assert [r.high for r in even] == ["025", "050", "075", None]
    # ids read back from documents (the site's stop pages) fall in exactly one range, in byte order
    ids = ["A", "B", "a", "Z9", "é", "\U0001f68c", "025", ""]
    assert all(sum(i in r for r in ranges) == 1 for i in ids)
    assert "é" in KeyRange("z", "\U0001f68c") and "B" not in KeyRange(None, "B") and "B" in KeyRange("B")
