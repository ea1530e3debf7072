"""The whole path on every real feed in ../shared/feeds: import, build, and the independent oracle.

The oracle reads the feed with the csv module alone and checks every document against the feed's own
rows; these tests add the contract checks (models, schemas, hashes, hrefs) on the same snapshots.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ORACLE, Builder, needs_feeds, shared_feeds
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
    sample = ["--sample", "3000"] if feed.stem in LARGE else []
    run = subprocess.run([sys.executable, str(ORACLE), str(feed), str(result.release), *sample],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and " 0 mismatches" in run.stdout, run.stdout[-3000:]
    check_hashes_and_hrefs(result.release)
    entries = manifest(result.release)
    rng = random.Random(feed.stem)
    check_against_models(result.release, rng.sample(entries, min(len(entries), 400)))
