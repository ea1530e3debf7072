"""Releases with the website: the sample feed built with --site, and the same with the schedule
documents of issues 11 and 12 (tests/site/fixtures.py) so that tables and boards have data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builder.build import BuildSettings, build
from builder.importer import import_feed
from tests.conftest import SAMPLE_FEED
from tests.site.fixtures import site_release

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ROUTE = '"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('site-db') / 'sample.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    return url


@pytest.fixture(scope="session")
def site_build(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT/current of a real `build --site` of the sample feed."""
    out = tmp_path_factory.mktemp("site-build") / "out"
    build(BuildSettings(db_url=sample_db, out_dir=out, workers=1, site=True))
    return out / "current"


@pytest.fixture(scope="session")
def scheduled(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT/current of the sample feed with timetables, GeoJSON and a 3-day window of boards, and its site."""
    return site_release(sample_db, tmp_path_factory.mktemp("site-scheduled") / "out")


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample feed with a stop, a route and a headsign named to break out of HTML, with the schedule."""
    root = tmp_path_factory.mktemp("site-hostile")
    feed = root / "feed"
    shutil.copytree(SAMPLE_FEED, feed)
    stops = feed / "stops.txt"
    stops.write_text(stops.read_text(encoding="utf-8").replace("Concert Hall", HOSTILE), encoding="utf-8")
    routes = feed / "routes.txt"
    text = routes.read_text(encoding="utf-8")
    assert "Flugplatz-Shuttle" in text
    quoted = '"' + HOSTILE_ROUTE.replace('"', '""') + '"'
    routes.write_text(text.replace("Flugplatz-Shuttle", quoted), encoding="utf-8")
    trips = feed / "trips.txt"
    trips.write_text(trips.read_text(encoding="utf-8").replace('"Nordufer, via Klinikum"', HOSTILE),
                     encoding="utf-8")
    url = f"sqlite:///{root / 'hostile.sqlite'}"
    import_feed(feed, db_url=url)
    return site_release(url, root / "out")
