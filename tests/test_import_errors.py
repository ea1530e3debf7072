"""Broken feeds and databases: one clear error naming file and line, and the database left byte for byte."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from builder.database import create_engine_for
from builder.errors import DatabaseError, FeedError
from builder.importer.run import import_feed, import_into
from tests.test_import_support import MINIMAL, feed_files, rows, sha256, write_feed

ST_HEADER = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database holding an earlier, valid import."""
    path = tmp_path / "gtfs.sqlite"
    import_feed(write_feed(tmp_path / "earlier", MINIMAL), db_url=f"sqlite:///{path}")
    return path


def _refused(db: Path, feed: Path, *expected: str, **options: Any) -> FeedError:
    """Import `feed` over `db`: it must raise FeedError whose problems include each expected line
    (regular expressions), and leave the database file as it was."""
    before = sha256(db)
    with pytest.raises(FeedError) as caught:
        import_feed(feed, db_url=f"sqlite:///{db}", **options)
    for pattern in expected:
        assert any(re.fullmatch(pattern, p) for p in caught.value.problems), (pattern, caught.value.problems)
    assert sha256(db) == before
    assert sorted(os.listdir(db.parent)) == sorted(p for p in os.listdir(db.parent) if not p.startswith("."))
    return caught.value


def _feed(db: Path, files: Mapping[str, str | bytes]) -> Path:
    return write_feed(db.parent / "feed", files)


def test_import_feed_refuses_a_file_that_is_not_a_zip(db: Path) -> None:
    not_zip = db.parent / "feed.zip"
    not_zip.write_text("stop_id\nS1\n")
    before = sha256(db)
    with pytest.raises(FeedError, match=re.escape(str(not_zip))):
        import_feed(not_zip, db_url=f"sqlite:///{db}")
    assert sha256(db) == before


def test_import_feed_refuses_a_truncated_zip(db: Path) -> None:
    feed = _feed(db, MINIMAL)
    feed.write_bytes(feed.read_bytes()[:200])
    with pytest.raises(FeedError, match=re.escape(str(feed))):
        import_feed(feed, db_url=f"sqlite:///{db}")


def test_import_feed_refuses_a_missing_path(db: Path) -> None:
    with pytest.raises(FeedError, match="no such zip file or folder"):
        import_feed(db.parent / "nowhere.zip", db_url=f"sqlite:///{db}")


def test_import_feed_refuses_a_missing_stop_times(db: Path) -> None:
    _refused(db, _feed(db, feed_files(stop_times=None)), r"stop_times\.txt: required file is missing")


def test_import_feed_refuses_a_feed_without_calendars(db: Path) -> None:
    _refused(
        db, _feed(db, feed_files(calendar=None)), r"calendar\.txt, calendar_dates\.txt: .*at least one.*"
    )


def test_import_feed_refuses_a_missing_required_column(db: Path) -> None:
    stops = "stop_name,stop_lat,stop_lon\nOne,48.85,2.35\n"
    _refused(db, _feed(db, feed_files(stops=stops)), r"stops\.txt:1: required column stop_id is missing")


def test_import_feed_refuses_an_empty_required_file(db: Path) -> None:
    _refused(db, _feed(db, feed_files(routes="")), r"routes\.txt: the file is empty")


def test_import_feed_refuses_a_column_named_twice(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon,stop_name\nS1,One,48.85,2.35,Uno\n"
    _refused(db, _feed(db, feed_files(stops=stops)), r"stops\.txt:1: column stop_name appears more than once")


def test_import_feed_refuses_stop_times_with_unknown_trip_and_stop(db: Path) -> None:
    stop_times = (
        ST_HEADER + "T1,08:00:00,08:00:00,S1,1\nT9,08:05:00,08:05:00,S2,2\nT1,08:09:00,08:09:00,S7,3\n"
    )
    _refused(
        db,
        _feed(db, feed_files(stop_times=stop_times)),
        r"stop_times\.txt:3: trip_id 'T9' is not in trips\.txt",
        r"stop_times\.txt:4: stop_id 'S7' is not in stops\.txt",
    )


def test_import_feed_refuses_a_trip_with_an_unknown_route(db: Path) -> None:
    _refused(
        db,
        _feed(db, feed_files(trips="route_id,service_id,trip_id\nR5,WK,T1\n")),
        r"trips\.txt:2: route_id 'R5' is not in routes\.txt",
    )


def test_import_feed_refuses_a_duplicate_stop_id(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36\nS1,Uno,48.87,2.37\n"
    _refused(
        db, _feed(db, feed_files(stops=stops)), r"stops\.txt:4: duplicate stop_id 'S1' \(first on line 2\)"
    )


def test_import_feed_refuses_a_duplicate_trip_and_stop_sequence(db: Path) -> None:
    stop_times = ST_HEADER + "T1,08:00:00,08:00:00,S1,1\nT1,08:05:00,08:05:00,S2,1\n"
    _refused(
        db,
        _feed(db, feed_files(stop_times=stop_times)),
        r"stop_times\.txt:3: duplicate trip_id 'T1', stop_sequence 1 \(first on line 2\)",
    )


def test_import_feed_refuses_a_non_numeric_stop_sequence(db: Path) -> None:
    stop_times = ST_HEADER + "T1,08:00:00,08:00:00,S1,1\nT1,08:05:00,08:05:00,S2,x\n"
    _refused(
        db,
        _feed(db, feed_files(stop_times=stop_times)),
        r"stop_times\.txt:3: stop_sequence 'x' is not a whole number",
    )


def test_import_feed_refuses_minutes_past_59(db: Path) -> None:
    stop_times = ST_HEADER + "T1,08:00:00,08:00:00,S1,1\nT1,25:61:00,25:61:00,S2,2\n"
    _refused(
        db,
        _feed(db, feed_files(stop_times=stop_times)),
        r"stop_times\.txt:3: arrival_time '25:61:00' is not a time .*",
        r"stop_times\.txt:3: departure_time '25:61:00' is not a time .*",
    )


def test_import_feed_refuses_a_latitude_out_of_range(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,123,2.35\nS2,Two,48.86,2.36\n"
    _refused(
        db, _feed(db, feed_files(stops=stops)), r"stops\.txt:2: stop_lat '123' is out of range \[-90, 90\]"
    )


def test_import_feed_refuses_an_empty_trip_id(db: Path) -> None:
    stop_times = ST_HEADER + "T1,08:00:00,08:00:00,S1,1\n,08:05:00,08:05:00,S2,2\n"
    _refused(db, _feed(db, feed_files(stop_times=stop_times)), r"stop_times\.txt:3: trip_id is empty")


def test_import_feed_refuses_a_bad_date(db: Path) -> None:
    calendar = MINIMAL["calendar.txt"].replace("20241231", "20241331")
    _refused(
        db, _feed(db, feed_files(calendar=calendar)), r"calendar\.txt:2: end_date '20241331' is not a date .*"
    )


def test_import_feed_refuses_a_nul_character_naming_the_line(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,T\0wo,48.86,2.36\n"
    _refused(
        db, _feed(db, feed_files(stops=stops)), r"stops\.txt:3: stop_name 'T\\x00wo' contains a NUL character"
    )


def test_import_feed_refuses_a_field_too_large_naming_the_line_and_the_limit(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2," + "x" * 200_000 + ",48.86,2.36\n"
    error = _refused(db, _feed(db, feed_files(stops=stops)))
    assert str(error).endswith(
        "refused: stops.txt: line 3 has a field longer than 131,072 characters (--max-field-chars)"
    )


def test_import_feed_reports_every_problem_in_one_run(db: Path) -> None:
    files = feed_files(
        stops="stop_id,stop_name,stop_lat,stop_lon\nS1,One,123,2.35\nS2,Two,48.86,2.36\nS2,Deux,48.86,2.36\n",
        stop_times=ST_HEADER + "T1,08:00:00,08:00:00,S1,x\nT9,08:05:00,08:05:00,S2,2\n",
        routes=None,
    )
    error = _refused(
        db,
        _feed(db, files),
        r"routes\.txt: required file is missing",
        r"stops\.txt:2: stop_lat '123' is out of range \[-90, 90\]",
        r"stop_times\.txt:2: stop_sequence 'x' is not a whole number",
        r"stops\.txt:4: duplicate stop_id 'S2' \(first on line 3\)",
        r"stop_times\.txt:3: trip_id 'T9' is not in trips\.txt",
    )
    assert str(error).startswith(f"import of {db.parent / 'feed.zip'} refused: 5 problems")


def test_import_feed_lists_at_most_max_problems_but_counts_all(db: Path) -> None:
    stop_times = ST_HEADER + "".join(f"T1,08:00:00,08:00:00,S1,x{i}\n" for i in range(30))
    error = _refused(db, _feed(db, feed_files(stop_times=stop_times)), max_problems=5)
    assert len(error.problems) == 5
    assert "refused: 30 problems (the first 5 listed)" in str(error)


def test_import_feed_skip_invalid_drops_and_counts(tmp_path: Path) -> None:
    files = feed_files(
        stops="stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36\nS1,Uno,1,1\n"
        "S3,Bad,123,2\n",
        trips="route_id,service_id,trip_id\nR1,WK,T1\nR9,WK,T2\n",
        stop_times=ST_HEADER
        + "T1,08:00:00,08:00:00,S1,1\nT1,08:05:00,08:05:00,S2,2\nT1,08:06:00,08:06:00,S2,2\n"
        "T1,08:07:00,08:07:00,S2,x\nT2,09:00:00,09:00:00,S1,1\nT2,09:05:00,09:05:00,S2,2\n"
        "T1,08:09:00,08:09:00,S9,3\n",
    )
    db = tmp_path / "gtfs.sqlite"
    report = import_feed(write_feed(tmp_path / "feed", files), db_url=f"sqlite:///{db}", skip_invalid=True)
    # Malformed: S3's latitude, the 'x' sequence. Duplicates: the second S1, the second (T1, 2).
    # Dangling: T2 (route R9), its two stop_times, and the stop_time at S9.
    assert report.dropped == {"malformed": 2, "duplicate": 2, "dangling_reference": 4}
    assert report.rows["stops"] == 2 and report.rows["trips"] == 1 and report.rows["stop_times"] == 2
    assert rows(db, "SELECT stop_name FROM stops WHERE stop_id = 'S1'") == [("One",)]
    assert rows(db, "SELECT departure_time FROM stop_times WHERE stop_sequence = 2") == [("08:05:00",)]
    assert any("stop_times.txt" in w and "trip_id" in w for w in report.warnings)


def test_import_feed_skip_invalid_drops_rows_without_an_id(tmp_path: Path) -> None:
    stop_times = ST_HEADER + "T1,08:00:00,08:00:00,S1,1\n,08:05:00,08:05:00,S2,2\nT1,08:06:00,08:06:00,S2,\n"
    db = tmp_path / "gtfs.sqlite"
    feed = write_feed(tmp_path / "feed", feed_files(stop_times=stop_times))
    report = import_feed(feed, db_url=f"sqlite:///{db}", skip_invalid=True)
    assert report.dropped == {"missing_id": 2} and report.rows["stop_times"] == 1
    assert any(w.startswith("stop_times.txt: dropped 2 rows with invalid values") for w in report.warnings)


def test_import_feed_skip_invalid_still_refuses_a_missing_file(db: Path) -> None:
    _refused(
        db, _feed(db, feed_files(trips=None)), r"trips\.txt: required file is missing", skip_invalid=True
    )


def test_import_feed_refuses_a_bad_database_url(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="bad database URL"):
        import_feed(write_feed(tmp_path / "feed", MINIMAL), db_url="nosuchdb+driver://x")


def test_import_feed_refuses_a_database_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        import_feed(write_feed(tmp_path / "feed", MINIMAL), db_url=f"sqlite:///{tmp_path}/no/gtfs.sqlite")


def test_import_feed_does_not_overwrite_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("not a database")
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        import_feed(write_feed(tmp_path / "feed", MINIMAL), db_url=f"sqlite:///{precious}")
    assert precious.read_text() == "not a database"


def test_import_feed_removes_a_stale_journal_of_the_old_database(db: Path) -> None:
    journal = Path(f"{db}-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7stale")
    import_feed(_feed(db, MINIMAL), db_url=f"sqlite:///{db}")
    assert not journal.exists() and rows(db, "SELECT count(*) FROM stop_times") == [(2,)]


def test_create_engine_for_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(DatabaseError, match="cannot open database"):
        create_engine_for(f"sqlite:///{junk}")


def test_import_into_rolls_back_a_refused_feed(tmp_path: Path) -> None:
    path = tmp_path / "gtfs.sqlite"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        import_into(engine, write_feed(tmp_path / "good", MINIMAL))
        before = rows(path, "SELECT * FROM stop_times ORDER BY stop_sequence")
        with pytest.raises(FeedError, match="stop_sequence 'x'"):
            import_into(
                engine,
                write_feed(
                    tmp_path / "bad",
                    feed_files(
                        stop_times=ST_HEADER + "T1,08:00:00,08:00:00,S1,x\n",
                        frequencies="trip_id,start_time\n",
                    ),
                ),
            )
    finally:
        engine.dispose()
    assert rows(path, "SELECT * FROM stop_times ORDER BY stop_sequence") == before
    assert rows(path, "SELECT count(*) FROM sqlite_master WHERE name = 'frequencies'") == [(0,)]
