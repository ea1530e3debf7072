"""Shared fixtures: the project's sample feed, the real feeds in ../shared/feeds, and built snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import make_url

from builder.build import BuildResult, BuildSettings, build
from builder.importer.run import import_feed
from tests.pg import PostgresServer, has_user, postgres_bin, wait_for

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FEED = REPO / "sample" / "feed"
# ../shared beside the repository, or where TRANSIT_SNAPSHOT_SHARED says (a git worktree's parent is not the clone's)
SHARED = Path(os.environ.get("TRANSIT_SNAPSHOT_SHARED") or REPO.parent / "shared")
FEEDS = SHARED / "feeds"
ORACLE = SHARED / "baselines" / "oracle.py"
TIMETABLE_ORACLE = SHARED / "baselines" / "timetable_oracle.py"
DEPARTURES_ORACLE = SHARED / "baselines" / "departures_oracle.py"
# Builds in tests are deterministic: a fixed window (the sample feed's spring-forward night, a
# Saturday, then the Easter holidays), never "today".
SAMPLE_WINDOW = (date(2026, 3, 28), 10)
# A window inside each shared feed's calendar, on the hard days where the feed has them: daylight-saving
# changes (saopaulo and portoalegre: Sao Paulo's fall-back at midnight, 2019-02-17), holidays removed
# and added by calendar_dates, times past 24:00. cdmx's frequency runs (every 2 minutes) make 0.5 GB a day.
FEED_WINDOWS: dict[str, tuple[date, int]] = {
    "google_sample": (date(2007, 6, 3), 7),
    "caltrain": (date(2016, 5, 28), 7),
    "saopaulo": (date(2019, 2, 15), 3),
    "berlin": (date(2021, 3, 25), 7),
    "portoalegre": (date(2019, 2, 14), 7),
    "cairns": (date(2014, 6, 7), 7),
    "cdmx": (date(2018, 10, 27), 2),
    # the large feeds: 2 or 3 dates (a day of boards is 0.1-0.6 GB for them), still on a hard day
    "wmata": (date(2026, 5, 23), 3),
    "hart_tampa": (date(2018, 7, 3), 2),
    "nyc_subway_full": (date(2018, 9, 2), 2),
    "mta_bus_brooklyn": (date(2026, 10, 31), 2),
}


def feed_window(feed: Path) -> tuple[date, int]:
    return FEED_WINDOWS.get(feed.stem, SAMPLE_WINDOW)


needs_feeds = pytest.mark.skipif(
    not FEEDS.is_dir(), reason=f"the real feeds are not beside the repo ({FEEDS} is absent)"
)


def shared_feeds() -> list[Path]:
    return sorted(FEEDS.glob("*.zip")) if FEEDS.is_dir() else []


Builder = Callable[..., BuildResult]


@pytest.fixture
def build_feed(tmp_path: Path) -> Builder:
    """Import a feed into a fresh SQLite database and build it; returns the build result."""

    def run(
        feed: Path,
        *,
        out: Path | None = None,
        workers: int = 1,
        compress: tuple[str, ...] = (),
        window: tuple[date, int] = SAMPLE_WINDOW,
    ) -> BuildResult:
        db = tmp_path / f"{feed.stem}.sqlite"
        url = f"sqlite:///{db}"
        if not db.exists():
            import_feed(feed, db_url=url)
        return build(
            BuildSettings(
                db_url=url,
                out_dir=out or tmp_path / "out",
                workers=workers,
                compress=compress,
                departures_from=window[0],
                departures_days=window[1],
            )
        )

    return run


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    """A PostgreSQL server for the session (None when TRANSIT_SNAPSHOT_TEST_PG names one instead)."""
    if os.environ.get("TRANSIT_SNAPSHOT_TEST_PG"):
        yield None
        return
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
            "scripts/setup-system installs it)"
        )
    if os.geteuid() == 0 and not has_user("postgres"):
        pytest.skip("running as root and there is no `postgres` user to run initdb as")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, pg_server: PostgresServer | None) -> str:
    """A PostgreSQL database URL: a fresh database on the session's server, or TRANSIT_SNAPSHOT_TEST_PG.

    `postgresql://` (psycopg 3) unless a test parametrizes it indirectly with another of
    tests.pg.URL_SCHEMES, e.g. `@pytest.mark.parametrize("pg_url", URL_SCHEMES, indirect=True)`."""
    scheme: str | None = getattr(request, "param", None)
    if pg_server is None:
        url = os.environ["TRANSIT_SNAPSHOT_TEST_PG"]
        if scheme is not None:
            url = make_url(url).set(drivername=scheme).render_as_string(hide_password=False)
        wait_for(url)
        return url
    return pg_server.new_database(scheme or "postgresql")


def assert_oracle_agrees(oracle: Path, feed: Path, release: Path, *options: str) -> None:
    """`oracle` (one of the independent checkers in ../shared/baselines), run as `oracle FEED RELEASE
    [options]`, finds 0 mismatches."""
    run = subprocess.run(
        [sys.executable, str(oracle), str(feed), str(release), *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and " 0 mismatches" in run.stdout, f"{oracle.name}: {run.stdout[-3000:]}"
