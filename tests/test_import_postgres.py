"""import_feed into PostgreSQL (COPY, one transaction), on a real server the tests start (tests/pg.py).

TRANSIT_SNAPSHOT_TEST_PG=postgresql://user@host/db runs them against that database instead (with each
driver in turn); every test then replaces its GTFS tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from builder.database import gtfs_table, insert_rows
from builder.errors import FeedError
from builder.importer.run import IMPORT_TABLE, import_feed
from tests.pg import URL_SCHEMES
from tests.test_import_support import MINIMAL, feed_files, write_feed

# Every test on each of the README's URL forms: psycopg 3 (postgresql://, postgresql+psycopg://) and psycopg2.
pytestmark = pytest.mark.parametrize("pg_url", URL_SCHEMES, indirect=True)


@pytest.fixture
def pg(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


def _all(engine: sa.Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(query)]


def test_import_feed_copies_values_into_postgresql(pg: sa.Engine, pg_url: str, tmp_path: Path) -> None:
    odd = 'a "quoted", multi\nline \\. value \\N ü'
    stops = f'stop_id,stop_name,stop_lat,stop_lon\nS1,"{odd.replace(chr(34), chr(34) * 2)}",48.85,2.35\nS2,,48.86,2.36\n'
    report = import_feed(write_feed(tmp_path / "feed", feed_files(stops=stops)), db_url=pg_url)
    assert report.rows["stops"] == 2
    assert _all(pg, "SELECT stop_id, stop_name, stop_lat FROM stops ORDER BY 1") == [
        ("S1", odd, 48.85),
        ("S2", None, 48.86),
    ]
    assert _all(pg, "SELECT stop_sequence, arrival_time FROM stop_times ORDER BY 1") == [
        (1, "08:00:00"),
        (2, "08:05:00"),
    ]
    assert _all(pg, f"SELECT source FROM {IMPORT_TABLE}") == [("feed.zip",)]


def test_import_feed_rolls_back_a_refused_feed_in_postgresql(
    pg: sa.Engine, pg_url: str, tmp_path: Path
) -> None:
    import_feed(write_feed(tmp_path / "good", MINIMAL), db_url=pg_url)
    before = _all(pg, "SELECT * FROM stop_times ORDER BY stop_sequence")
    bad = feed_files(
        trips="route_id,service_id,trip_id\nR9,WK,T1\n",
        frequencies="trip_id,start_time,end_time,headway_secs\nT1,06:00:00,07:00:00,600\n",
    )
    with pytest.raises(FeedError, match=r"trips\.txt:2: route_id 'R9' is not in routes\.txt"):
        import_feed(write_feed(tmp_path / "bad", bad), db_url=pg_url)
    assert _all(pg, "SELECT * FROM stop_times ORDER BY stop_sequence") == before
    assert not sa.inspect(pg).has_table("frequencies")


def test_import_feed_skip_invalid_drops_later_duplicates_in_postgresql(
    pg: sa.Engine, pg_url: str, tmp_path: Path
) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36\nS1,Uno,1,1\nS2,Two,48.86,2.36\n"
    report = import_feed(
        write_feed(tmp_path / "feed", feed_files(stops=stops)), db_url=pg_url, skip_invalid=True
    )
    assert report.dropped == {"duplicate": 1, "repeated_row": 1}
    assert _all(pg, "SELECT stop_id, stop_name FROM stops ORDER BY 1") == [("S1", "One"), ("S2", "Two")]


def test_insert_rows_feeds_postgresql_through_copy(pg: sa.Engine) -> None:
    """With each driver the rows travel by COPY ... FROM STDIN, not INSERTs: a statement trigger notes
    the statement that filled the table."""
    table = gtfs_table(sa.MetaData(), "stops", ["stop_id", "stop_name", "stop_lat"])
    with pg.begin() as conn:
        table.create(conn)
        conn.exec_driver_sql("CREATE TABLE seen (query text)")
        conn.exec_driver_sql(
            "CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO seen VALUES (current_query()); RETURN NULL; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER noted AFTER INSERT ON stops FOR EACH STATEMENT EXECUTE FUNCTION note()"
        )
        assert insert_rows(conn, table, [("S1", "One", 48.85), ("S2", None, None)]) == 2
        seen = [row[0] for row in conn.exec_driver_sql("SELECT query FROM seen")]
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM stops ORDER BY 1")] == [
            ("S1", "One", 48.85),
            ("S2", None, None),
        ]
    assert len(seen) == 1 and seen[0].startswith("COPY stops "), seen
