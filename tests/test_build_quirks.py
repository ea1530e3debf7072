"""The build on a small feed of real-world quirks (tests/quirks.py): odd IDs, dangling soft references,
calendar_dates-only service, stop_sequence from 0 with gaps, loop trips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from builder.build import BuildResult, BuildSettings, build
from builder.importer.run import ImportReport, import_feed
from tests.quirks import (
    DANGLING_PARENT,
    DANGLING_SHAPE,
    LOOP_STOP,
    LOOP_TRIP,
    ODD_ROUTE,
    ODD_STOPS,
    QUIRK_FEED,
)
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest
from tests.test_import_support import write_feed


@pytest.fixture
def quirks(tmp_path: Path) -> tuple[ImportReport, BuildResult]:
    url = f"sqlite:///{tmp_path / 'quirks.sqlite'}"
    report = import_feed(write_feed(tmp_path / "quirks", QUIRK_FEED), db_url=url)
    return report, build(BuildSettings(db_url=url, out_dir=tmp_path / "out", workers=1))


def _doc(release: Path, kind: str, id_: str) -> dict[str, Any]:
    entry = next(e for e in manifest(release) if e.kind == kind and e.id == id_)
    doc: dict[str, Any] = orjson.loads((release / entry.path).read_bytes())
    return doc


def test_build_quirky_ids_each_get_a_document_reachable_by_its_href(
    quirks: tuple[ImportReport, BuildResult],
) -> None:
    release = quirks[1].release
    check_hashes_and_hrefs(release)
    check_against_models(release, manifest(release))
    ids = {(e.kind, e.id) for e in manifest(release)}
    assert {("stop", s) for s in ODD_STOPS} <= ids
    assert {("route", ODD_ROUTE), ("trip", "t/1+2"), ("trip", "t@2"), ("trip", LOOP_TRIP)} <= ids
    for kind, key in (("stop", "stop"), ("route", "route"), ("trip", "trip")):
        for e in (e for e in manifest(release) if e.kind == kind):
            doc = orjson.loads((release / e.path).read_bytes())
            assert doc[key][f"{kind}_id"] == e.id and doc[key]["href"] == e.path
            assert e.path.isascii() and not {"%", "+", "#", "@", " "} & set(e.path)


def test_build_leaves_a_dangling_parent_station_out(quirks: tuple[ImportReport, BuildResult]) -> None:
    stop = _doc(quirks[1].release, "stop", "Остановка")["stop"]
    assert stop["parent_station"] == DANGLING_PARENT  # the feed's value, kept
    assert stop["parent"] is None  # no link to a document that does not exist
    assert not any(e.id == DANGLING_PARENT for e in manifest(quirks[1].release))
    platform = _doc(quirks[1].release, "stop", "Hbf/Gleis 1")["stop"]
    assert platform["parent"]["href"] == "stops/H!bf.json"


def test_build_keeps_a_trip_whose_shape_has_no_points(quirks: tuple[ImportReport, BuildResult]) -> None:
    trip = _doc(quirks[1].release, "trip", "t@2")["trip"]
    assert (
        trip["shape_id"] == DANGLING_SHAPE
        and "shape" not in trip
        and not any("shape" in k for k in trip if k != "shape_id")
    )


def test_import_feed_counts_dangling_soft_references(quirks: tuple[ImportReport, BuildResult]) -> None:
    report = quirks[0]
    assert report.dangling == {"stops.parent_station": 1, "trips.shape_id": 1}
    assert any("parent_station" in w and repr(DANGLING_PARENT) in w for w in report.warnings)
    assert any("shape_id" in w and repr(DANGLING_SHAPE) in w for w in report.warnings)


def test_build_services_from_calendar_dates_alone_and_both(quirks: tuple[ImportReport, BuildResult]) -> None:
    services = _doc(quirks[1].release, "route", ODD_ROUTE)["services"]
    assert services["dates only"] == {
        "service_id": "dates only",
        "added_dates": ["20260501", "20260502"],
        "removed_dates": [],
    }
    assert services["cal only"]["monday"] == 1 and services["cal only"]["added_dates"] == []
    both = _doc(quirks[1].release, "route", "Кольцо")["services"]["both"]
    assert both["saturday"] == 1 and both["start_date"] == "20260101"
    assert both["added_dates"] == ["20261225"] and both["removed_dates"] == ["20261226"]


def test_build_keeps_stop_sequence_from_zero_with_gaps(quirks: tuple[ImportReport, BuildResult]) -> None:
    trip = _doc(quirks[1].release, "trip", "t/1+2")
    assert [st["stop_sequence"] for st in trip["stop_times"]] == [0, 5, 17]
    assert [st["stop"]["stop_id"] for st in trip["stop_times"]] == ["a b@c#d+e", "Hbf/Gleis 1", "Остановка"]


def test_build_loop_trip_appears_twice_in_the_stop_view(quirks: tuple[ImportReport, BuildResult]) -> None:
    visits = _doc(quirks[1].release, "stop", LOOP_STOP)["trips"]
    assert [(v["trip_id"], v["stop_sequence"], v["departure_time"]) for v in visits] == [
        (LOOP_TRIP, 0, "10:00:00"),
        (LOOP_TRIP, 20, "10:20:00"),
    ]
    trip = _doc(quirks[1].release, "trip", LOOP_TRIP)
    assert [st["stop_id"] for st in trip["stop_times"]] == [LOOP_STOP, "محطة", LOOP_STOP]


def test_build_gives_a_stop_without_trips_an_empty_view(quirks: tuple[ImportReport, BuildResult]) -> None:
    assert _doc(quirks[1].release, "stop", "b")["trips"] == []


def test_import_command_summary_counts_dangling_references(tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "transit-snapshot")
    feed = write_feed(tmp_path / "quirks", QUIRK_FEED)
    done = subprocess.run(
        [cli, "import", str(feed), "--db", f"sqlite:///{tmp_path / 'q.sqlite'}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "kept 1 rows whose stops.parent_station is not in the feed" in done.stdout
    assert "kept 1 rows whose trips.shape_id is not in the feed" in done.stdout
    assert "stops.txt: 1 row with a parent_station not in stops.txt" in done.stderr
