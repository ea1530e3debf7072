"""The importer's peak memory does not grow with the feed (issue 14): a feed eight times larger, every check
made, peaks within a few MB of the smaller one, on SQLite and on PostgreSQL.

Before, the peak grew by about 145 bytes a stop time (SQLite's sorter, temporary b-trees and memory-mapped
pages held the whole stop_times): the larger feed here then peaked some 100 MB above the smaller.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from builder.importer.run import import_feed
from tests.sized_feed import write_sized_feed
from tests.test_import_hostile import CLI, Run, run_measured

SMALL, LARGE = 100_000, 800_000
# What the larger import may use above the smaller: the per-column value memos and SQLite's page cache
# filling up to their caps. Growth with the feed would be ~100 MB.
MARGIN_MB = 30
CEILING_MB = 300  # the bound for any feed


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    where = tmp_path_factory.mktemp("sized")
    return {n: write_sized_feed(where / f"feed{n}", n) for n in (SMALL, LARGE)}


def _import(feed: Path, url: str) -> Run:
    return run_measured([CLI, "import", str(feed), "--db", url])


def _assert_flat(small: Run, large: Run) -> None:
    assert small.status == 0 and large.status == 0, (small, large)
    assert large.rss_mb < CEILING_MB, large
    assert large.rss_mb - small.rss_mb < MARGIN_MB, (small, large)


def test_import_peak_memory_does_not_grow_with_the_feed_on_sqlite(
    feeds: dict[int, Path], tmp_path: Path
) -> None:
    runs = {n: _import(feed, f"sqlite:///{tmp_path / f'{n}.sqlite'}") for n, feed in feeds.items()}
    _assert_flat(runs[SMALL], runs[LARGE])
    with sa.create_engine(f"sqlite:///{tmp_path / f'{LARGE}.sqlite'}").connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM stop_times").scalar_one() == LARGE


def test_import_peak_memory_does_not_grow_with_the_feed_on_postgresql(
    feeds: dict[int, Path], pg_url: str
) -> None:
    runs = {n: _import(feed, pg_url) for n, feed in feeds.items()}
    _assert_flat(runs[SMALL], runs[LARGE])
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM stop_times").scalar_one() == LARGE
    finally:
        engine.dispose()


def test_import_of_the_sized_feed_passes_every_check(feeds: dict[int, Path], tmp_path: Path) -> None:
    # The feed the memory is measured on is valid and exercises the references the checks walk.
    report = import_feed(feeds[SMALL], db_url=f"sqlite:///{tmp_path / 'small.sqlite'}")
    assert report.rows["stop_times"] == SMALL
    assert report.warnings == [] and report.dropped == {} and report.dangling == {}
