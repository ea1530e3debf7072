"""The whole path on every real feed in ../shared/feeds: import, build, and the independent oracles.

The oracles read the feed with the csv module alone and check the documents against the feed's own rows
(oracle.py the views, timetable_oracle.py the timetables and GeoJSON); these tests add the contract
checks (models, schemas, hashes, hrefs) on the same snapshots.
"""

from __future__ import annotations

import json
import random
import warnings
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest

from tests.conftest import (
    DEPARTURES_ORACLE,
    ORACLE,
    TIMETABLE_ORACLE,
    Builder,
    assert_oracle_agrees,
    feed_window,
    needs_feeds,
    shared_feeds,
)
from tests.geojson_schema import GEOJSON_SCHEMA
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest

LARGE = {"mta_bus_brooklyn"}  # 2.4M stop times: a minute or two here, still part of CI


def _params() -> list[object]:
    return [
        pytest.param(f, id=f.stem, marks=[pytest.mark.slow] if f.stem in LARGE else [])
        for f in shared_feeds()
    ] or [pytest.param(None, id="no-feeds")]


@needs_feeds
@pytest.mark.feeds
@pytest.mark.parametrize("feed", _params())
def test_feed_builds_with_zero_oracle_mismatches(feed: Path, build_feed: Builder) -> None:
    result = build_feed(feed, workers=2, window=feed_window(feed))
    # --sample: trips (oracle.py) or routes (timetable_oracle.py) checked on the large feed, seeded
    for oracle, sample in ((ORACLE, "3000"), (TIMETABLE_ORACLE, "60")):
        options = ["--sample", sample] if feed.stem in LARGE else []
        assert_oracle_agrees(oracle, feed, result.release, *options)
    # boards: every one present; field by field for 300 stops (stations, frequencies and
    # interpolated visits among them) on every date of the window
    assert_oracle_agrees(DEPARTURES_ORACLE, feed, result.release, "--sample", "300")
    check_service_dates_against_partridge(feed, result.release)
    check_hashes_and_hrefs(result.release)
    entries = manifest(result.release)
    rng = random.Random(feed.stem)
    check_against_models(result.release, rng.sample(entries, min(len(entries), 400)))
    maps = [e for e in entries if e.path.endswith(".geojson")]
    geojson = jsonschema.Draft202012Validator(GEOJSON_SCHEMA)
    for entry in rng.sample(maps, min(len(maps), 40)):  # RFC 7946, from the test's own schema
        geojson.validate(orjson.loads((result.release / entry.path).read_bytes()))


def check_service_dates_against_partridge(feed: Path, release: Path) -> None:
    """services.json against partridge's read_service_ids_by_date (a library no one here wrote), on the
    services trips use (partridge leaves the others out)."""
    import partridge

    with (
        warnings.catch_warnings()
    ):  # partridge 1.1.2 calls pandas APIs pandas 3.1 deprecates: not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        theirs = partridge.read_service_ids_by_date(str(feed))
        used = set(partridge.load_raw_feed(str(feed)).trips.service_id)
    ours: dict[date, set[str]] = defaultdict(set)
    for sid, service in json.loads((release / "services.json").read_bytes())["services"].items():
        if sid in used:
            for day in service["dates"]:
                ours[datetime.strptime(day, "%Y%m%d").date()].add(sid)
    assert {d: frozenset(s) for d, s in ours.items()} == theirs
