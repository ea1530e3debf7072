"""Databases made by node-gtfs (npm package `gtfs`): built as they are, the same documents as our import.

The real `gtfs-import` runs when scripts/setup-node-gtfs installed it (scripts/test does); otherwise
those tests skip, naming why. One test always runs on a database written here in node-gtfs's layout.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from tests.conftest import FEEDS, SAMPLE_FEED
from tests.snapshot_checks import manifest

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "transit-snapshot" / "node-gtfs"
NODE_GTFS = Path(os.environ.get("TRANSIT_SNAPSHOT_NODE_GTFS", CACHE))
GTFS_IMPORT = NODE_GTFS / "node_modules" / ".bin" / "gtfs-import"
# The columns of sample/feed the GTFS reference does not define: node-gtfs has a fixed schema and drops them.
SAMPLE_EXTRA_COLUMNS = {"routes/B41.json", "routes/L~c3~ad!n~204~20!S~c3~bc!d.json", "routes/X9.json"}


@pytest.fixture(scope="module")
def gtfs_import() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (node-gtfs needs Node 20)")
    if not GTFS_IMPORT.exists():
        pytest.skip(f"node-gtfs is not installed at {NODE_GTFS} (run scripts/setup-node-gtfs)")
    return GTFS_IMPORT


def _node_gtfs_database(gtfs_import: Path, feed: Path, where: Path) -> str:
    db = where / "node-gtfs.sqlite"
    config = where / "node-gtfs.json"
    # relax_column_count: sample/feed has a short row on purpose (GTFS lets trailing empty fields go).
    config.write_text(
        json.dumps(
            {
                "sqlitePath": str(db),
                "agencies": [{"path": str(feed)}],
                "verbose": False,
                "csvOptions": {"relax_column_count": True},
            }
        )
    )
    done = subprocess.run(
        [str(gtfs_import), "--configPath", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return f"sqlite:///{db}"


def _releases(gtfs_import: Path, feed: Path, tmp_path: Path) -> tuple[Path, Path]:
    ours = f"sqlite:///{tmp_path / 'ours.sqlite'}"
    import_feed(feed, db_url=ours)
    theirs = _node_gtfs_database(gtfs_import, feed, tmp_path)
    return (
        build(BuildSettings(db_url=ours, out_dir=tmp_path / "ours", workers=1)).release,
        build(BuildSettings(db_url=theirs, out_dir=tmp_path / "theirs", workers=1)).release,
    )


def _changed(ours: Path, theirs: Path) -> set[str]:
    a = {e.path: e.sha256 for e in manifest(ours)}
    b = {e.path: e.sha256 for e in manifest(theirs)}
    assert a.keys() == b.keys()
    return {p for p in a if a[p] != b[p]}


@pytest.mark.parametrize("feed", [FEEDS / "caltrain.zip", FEEDS / "berlin.zip"], ids=lambda p: p.stem)
def test_nodegtfs_database_builds_byte_identical(gtfs_import: Path, feed: Path, tmp_path: Path) -> None:
    if not feed.exists():
        pytest.skip(f"{feed} is absent")
    ours, theirs = _releases(gtfs_import, feed, tmp_path)
    assert (theirs / "manifest.json").read_bytes() == (ours / "manifest.json").read_bytes()
    assert theirs.name == ours.name


def test_nodegtfs_database_lacks_only_columns_outside_the_reference(
    gtfs_import: Path, tmp_path: Path
) -> None:
    ours, theirs = _releases(gtfs_import, SAMPLE_FEED, tmp_path)
    assert _changed(ours, theirs) == SAMPLE_EXTRA_COLUMNS
    for path in SAMPLE_EXTRA_COLUMNS:
        doc: dict[str, Any] = orjson.loads((ours / path).read_bytes())
        assert doc["route"].pop("x_operator_note")
        assert orjson.loads((theirs / path).read_bytes()) == doc


# node-gtfs's layout, as its schema declares it: typed columns, `date` columns holding integers
# (20260301), `time` columns, generated *_timestamp seconds, NOCASE names, NOT NULL keys.
NODE_GTFS_LAYOUT = """
CREATE TABLE agency (agency_id text PRIMARY KEY, agency_name text NOT NULL, agency_url text NOT NULL,
                     agency_timezone text NOT NULL);
CREATE TABLE routes (route_id text NOT NULL PRIMARY KEY, agency_id text, route_short_name text COLLATE NOCASE,
                     route_type integer NOT NULL);
CREATE TABLE trips (route_id text NOT NULL, service_id text NOT NULL, trip_id text NOT NULL PRIMARY KEY,
                    trip_headsign text COLLATE NOCASE, direction_id integer);
CREATE TABLE stops (stop_id text NOT NULL PRIMARY KEY, stop_name text COLLATE NOCASE, stop_lat real,
                    stop_lon real, location_type integer, parent_station text);
CREATE TABLE stop_times (trip_id text NOT NULL, arrival_time time,
    arrival_timestamp INTEGER GENERATED ALWAYS AS (substr(arrival_time, 1, 2) * 3600) STORED,
    departure_time time,
    departure_timestamp INTEGER GENERATED ALWAYS AS (substr(departure_time, 1, 2) * 3600) STORED,
    stop_id text NOT NULL, stop_sequence integer NOT NULL, PRIMARY KEY (trip_id, stop_sequence));
CREATE TABLE calendar (service_id text NOT NULL PRIMARY KEY, monday integer NOT NULL, tuesday integer NOT NULL,
    wednesday integer NOT NULL, thursday integer NOT NULL, friday integer NOT NULL, saturday integer NOT NULL,
    sunday integer NOT NULL, start_date date NOT NULL, end_date date NOT NULL);
CREATE TABLE calendar_dates (service_id text NOT NULL, date date NOT NULL, exception_type integer NOT NULL,
    holiday_name text COLLATE NOCASE, PRIMARY KEY (service_id, date));
INSERT INTO agency VALUES ('A', 'Agency', 'https://a.example', 'Europe/Berlin');
INSERT INTO routes VALUES ('R1', 'A', 'One', 3), ('r1', 'A', 'one', 3);
INSERT INTO trips VALUES ('R1', 'WK', 'T1', 'Nord', 0), ('r1', 'X', 'T2', NULL, NULL);
INSERT INTO stops VALUES ('S1', 'Eins', 52.5, 13.4, 0, NULL), ('s1', 'eins', 52.6, 13.5, 0, NULL);
INSERT INTO stop_times (trip_id, arrival_time, departure_time, stop_id, stop_sequence) VALUES
    ('T1', '24:50:00', '24:51:00', 'S1', 1), ('T1', NULL, NULL, 's1', 2), ('T2', '08:00:00', '08:00:00', 's1', 0);
INSERT INTO calendar VALUES ('WK', 1, 1, 1, 1, 1, 0, 0, 20260301, 20270228);
INSERT INTO calendar_dates VALUES ('WK', 20261225, 2, 'Christmas'), ('X', 20260501, 1, NULL);
"""


def test_build_reads_a_database_in_node_gtfs_layout(tmp_path: Path) -> None:
    db = tmp_path / "node-gtfs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(NODE_GTFS_LAYOUT)
    release = build(BuildSettings(db_url=f"sqlite:///{db}", out_dir=tmp_path / "out", workers=1)).release
    trip = orjson.loads((release / "trips/T1.json").read_bytes())
    assert [(st["arrival_time"], st["departure_time"]) for st in trip["stop_times"]] == [
        ("24:50:00", "24:51:00"),
        (None, None),
    ]
    assert not any("timestamp" in key for st in trip["stop_times"] for key in st)
    assert trip["service"] == {
        "service_id": "WK",
        "monday": 1,
        "tuesday": 1,
        "wednesday": 1,
        "thursday": 1,
        "friday": 1,
        "saturday": 0,
        "sunday": 0,
        "start_date": "20260301",
        "end_date": "20270228",
        "added_dates": [],
        "removed_dates": ["20261225"],
    }
    assert orjson.loads((release / "trips/T2.json").read_bytes())["service"]["added_dates"] == ["20260501"]
    feed = orjson.loads((release / "feed.json").read_bytes())
    assert feed["service_period"] == {"start_date": "20260301", "end_date": "20270228"}
    assert [r["route_id"] for r in orjson.loads((release / "routes.json").read_bytes())["routes"]] == [
        "R1",
        "r1",
    ]
