"""Releases with the website, all real `build --site` runs: the sample feed with a fixed window of
departure boards (the timetables, GeoJSON and boards are the build's own documents), the same without
boards, and a copy of the sample feed whose names are made to break out of HTML."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from tests.conftest import FEED_WINDOWS, FEEDS, SAMPLE_FEED

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ROUTE = '"><img src=x onerror=alert(2)>'
# Friday to Sunday in the sample feed: weekday and weekend boards differ, and the boards carry
# pickup/drop-off restrictions (route 4S at the station) and frequency-based runs
WINDOW_FROM, WINDOW_DAYS = date(2026, 3, 6), 3


def site_release(db_url: str, out: Path, days: int = WINDOW_DAYS, start: date = WINDOW_FROM) -> Path:
    """OUT/current of a real `build --site` of the database, boards for `days` dates from `start`."""
    build(
        BuildSettings(
            db_url=db_url, out_dir=out, workers=1, site=True, departures_from=start, departures_days=days
        )
    )
    return out / "current"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('site-db') / 'sample.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    return url


@pytest.fixture(scope="session")
def site_build(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT/current of `build --site --departures-from 20260306 --departures-days 3` of the sample feed."""
    return site_release(sample_db, tmp_path_factory.mktemp("site-build") / "out")


@pytest.fixture(scope="session")
def without_boards(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with `--departures-days 0`: stop pages without boards must still be whole pages."""
    return site_release(sample_db, tmp_path_factory.mktemp("site-no-boards") / "out", days=0)


@pytest.fixture(scope="session")
def caltrain_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real feed's site: caltrain, boards over its Memorial Day week (tests/conftest.py FEED_WINDOWS)."""
    feed = FEEDS / "caltrain.zip"
    if not feed.is_file():
        pytest.skip(f"the real feeds are not beside the repo ({feed} is absent)")
    root = tmp_path_factory.mktemp("site-caltrain")
    url = f"sqlite:///{root / 'caltrain.sqlite'}"
    import_feed(feed, db_url=url)
    start, days = FEED_WINDOWS["caltrain"]
    return site_release(url, root / "out", days=days, start=start)


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample feed with a stop, a route and a headsign named to break out of HTML (no real feed
    has them), built with its site."""
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
    trips.write_text(
        trips.read_text(encoding="utf-8").replace('"Nordufer, via Klinikum"', HOSTILE), encoding="utf-8"
    )
    url = f"sqlite:///{root / 'hostile.sqlite'}"
    import_feed(feed, db_url=url)
    return site_release(url, root / "out")
