"""The whole path on every real feed in ../shared/feeds: import, build, and the independent oracles.

The oracles read the feed with the csv module alone and check the documents against the feed's own rows
(oracle.py the views, timetable_oracle.py the timetables and GeoJSON); these tests add the contract
checks (models, schemas, hashes, hrefs) on the same snapshots.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import jsonschema
import orjson
import pytest

from tests.conftest import ORACLE, TIMETABLE_ORACLE, Builder, needs_feeds, shared_feeds
from tests.geojson_schema import GEOJSON_SCHEMA
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest

LARGE = {"mta_bus_brooklyn"}  # 2.4M stop times: a minute or two here, still part of CI


def _params() -> list[object]:
    return [pytest.param(f, id=f.stem, marks=[pytest.mark.slow] if f.stem in LARGE else [])
            for f in shared_feeds()] or [pytest.param(None, id="no-feeds")]


@needs_feeds
@pytest.mark.feeds
@pytest.mark.parametrize("feed", _params())
def test_feed_builds_with_zero_oracle_mismatches(feed: Path, build_feed: Builder) -> None:
    result = build_feed(feed, workers=2)
    # --sample: trips (oracle.py) or routes (timetable_oracle.py) checked on the large feed, seeded
    for oracle, sample in ((ORACLE, "3000"), (TIMETABLE_ORACLE, "60")):
        options = ["--sample", sample] if feed.stem in LARGE else []
        run = subprocess.run([sys.executable, str(oracle), str(feed), str(result.release), *options],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0 and " 0 mismatches" in run.stdout, f"{oracle.name}: {run.stdout[-3000:]}"
    check_hashes_and_hrefs(result.release)
    entries = manifest(result.release)
    rng = random.Random(feed.stem)
    check_against_models(result.release, rng.sample(entries, min(len(entries), 400)))
    maps = [e for e in entries if e.path.endswith(".geojson")]
    geojson = jsonschema.Draft202012Validator(GEOJSON_SCHEMA)
    for entry in rng.sample(maps, min(len(maps), 40)):  # RFC 7946, from the test's own schema
        geojson.validate(orjson.loads((result.release / entry.path).read_bytes()))
