"""`build` from PostgreSQL: the same bytes as from SQLite, read through server-side cursors."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from builder.snapshot.source import Source, open_engine
from tests.conftest import FEEDS, SAMPLE_FEED, feed_window
from tests.pg import URL_SCHEMES
from tests.quirks import QUIRK_FEED
from tests.test_import_support import write_feed

# Real feeds with ids holding spaces, non-ASCII letters, `@` and `#`, and dangling parent stations.
FEEDS_TO_COMPARE = [
    SAMPLE_FEED,
    *(FEEDS / f"{name}.zip" for name in ("caltrain", "saopaulo", "berlin", "portoalegre")),
]

# Each of the README's URL forms: psycopg 3 (postgresql://, postgresql+psycopg://) and psycopg2; the real
# feeds with each driver once (postgresql+psycopg:// is postgresql:// spelled out).
every_url_form = pytest.mark.parametrize("pg_url", URL_SCHEMES, indirect=True)
every_driver = pytest.mark.parametrize("pg_url", ["postgresql", "postgresql+psycopg2"], indirect=True)


def _built(feed: Path, db_url: str, out: Path, workers: int) -> tuple[str, bytes]:
    import_feed(feed, db_url=db_url)
    first, days = feed_window(feed)
    result = build(
        BuildSettings(
            db_url=db_url, out_dir=out, workers=workers, departures_from=first, departures_days=days
        )
    )
    return result.build_id, (result.release / "manifest.json").read_bytes()


def _assert_same_release(feed: Path, pg_url: str, tmp_path: Path) -> None:
    from_sqlite = _built(feed, f"sqlite:///{tmp_path / 'gtfs.sqlite'}", tmp_path / "sqlite", workers=1)
    from_postgres = _built(feed, pg_url, tmp_path / "pg", workers=2)
    assert from_postgres[1] == from_sqlite[1]  # manifest.json: every document's path and sha256
    assert from_postgres[0] == from_sqlite[0]


@every_driver
@pytest.mark.parametrize("feed", FEEDS_TO_COMPARE, ids=lambda p: p.stem)
def test_build_from_postgresql_is_byte_identical_to_sqlite(feed: Path, pg_url: str, tmp_path: Path) -> None:
    if not feed.exists():
        pytest.skip(f"{feed} is absent")
    _assert_same_release(feed, pg_url, tmp_path)


@every_url_form
def test_build_from_postgresql_walks_ids_in_byte_order(pg_url: str, tmp_path: Path) -> None:
    """Odd IDs, and a stop `b` without visits beside a stop `C` with some: a database whose default
    collation is linguistic (the test server's is ICU en-US) puts `b` first, byte order puts `C` first."""
    _assert_same_release(write_feed(tmp_path / "quirks", QUIRK_FEED), pg_url, tmp_path)


@every_url_form
def test_source_streams_postgresql_rows_through_server_side_cursors(pg_url: str, tmp_path: Path) -> None:
    """The big streams are named (server-side) cursors, several open at once in one transaction:
    the client holds one fetch batch of each, never the table."""
    import_feed(SAMPLE_FEED, db_url=pg_url)
    source = Source(open_engine(pg_url))
    try:
        with source.connect() as conn:
            by_route = source.rows(conn, source.stop_times_by_route())
            by_stop = source.rows(conn, source.stop_times_by_stop(["stop_id", "trip_id"]))
            next(by_route), next(by_stop)
            cursors = conn.exec_driver_sql("SELECT statement FROM pg_cursors").all()
            assert sum("FROM stop_times" in c[0] for c in cursors) == 2
            assert sum(1 for _ in by_route) + 1 == source.count(conn, "stop_times")
    finally:
        source.engine.dispose()
