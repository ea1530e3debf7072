"""import_feed on small feeds written by each test: one quirk of real feeds per test."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder import gtfs
from builder.database import create_engine_for
from builder.importer.run import IMPORT_TABLE, ImportOptions, ImportReport, import_feed, import_into
from builder.importer.values import parser
from tests.test_import_support import MINIMAL, feed_files, rows, tables, write_feed


def _import(tmp_path: Path, files: Mapping[str, str | bytes]) -> tuple[Path, ImportReport]:
    db = tmp_path / "gtfs.sqlite"
    return db, import_feed(write_feed(tmp_path / "feed", files), db_url=f"sqlite:///{db}")


def test_import_feed_loads_a_minimal_feed(tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    report = import_feed(write_feed(tmp_path / "feed", MINIMAL), db_url=f"sqlite:///{db}")
    assert report.rows == {"agency": 1, "stops": 2, "routes": 1, "trips": 1, "stop_times": 2, "calendar": 1}
    assert report.warnings == [] and report.dropped == {}
    assert rows(db, "SELECT trip_id, stop_id, stop_sequence, arrival_time FROM stop_times ORDER BY 3") == [
        ("T1", "S1", 1, "08:00:00"),
        ("T1", "S2", 2, "08:05:00"),
    ]
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporary file left


def test_import_feed_reads_a_folder(tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    report = import_feed(write_feed(tmp_path / "feed", MINIMAL, as_zip=False), db_url=f"sqlite:///{db}")
    assert report.rows["stop_times"] == 2


def test_import_feed_strips_a_bom(tmp_path: Path) -> None:
    db, _ = _import(tmp_path, feed_files(agency="\ufeff" + MINIMAL["agency.txt"]))
    assert rows(db, "SELECT agency_id FROM agency") == [("A",)]


def test_import_feed_reads_crlf_and_no_final_newline(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\r\nS1,One,48.85,2.35\r\nS2,Two,48.86,2.36"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT stop_id, stop_name FROM stops ORDER BY 1") == [("S1", "One"), ("S2", "Two")]


def test_import_feed_keeps_commas_and_quotes_of_quoted_fields(tmp_path: Path) -> None:
    stops = 'stop_id,stop_name,stop_lat,stop_lon\nS1,"Main St, ""North""",48.85,2.35\nS2,Two,48.86,2.36\n'
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT stop_name FROM stops WHERE stop_id = 'S1'") == [('Main St, "North"',)]


def test_import_feed_strips_whitespace_around_values_and_names(tmp_path: Path) -> None:
    stops = " stop_id , stop_name ,stop_lat,stop_lon\n S1 ,  One  ,  48.85, -2.35 \nS2,Two,48.86,2.36\n"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT stop_id, stop_name, stop_lat, stop_lon FROM stops ORDER BY 1")[0] == (
        "S1",
        "One",
        48.85,
        -2.35,
    )


def test_import_feed_pads_short_rows_and_ignores_extra_values(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon,stop_code\nS1,One,48.85,2.35\nS2,Two,48.86,2.36,C2,extra\n"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT stop_id, stop_code FROM stops ORDER BY 1") == [("S1", None), ("S2", "C2")]


def test_import_feed_skips_blank_lines(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\n\nS1,One,48.85,2.35\n   \n,,,\nS2,Two,48.86,2.36\n\n"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT count(*) FROM stops") == [(2,)]


def test_import_feed_zero_pads_single_digit_hours(tmp_path: Path) -> None:
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,5:30:00,5:30:00,S1,1\nT1,5:35:00,05:36:00,S2,2\n"
    )
    db, _ = _import(tmp_path, feed_files(stop_times=stop_times))
    assert rows(db, "SELECT arrival_time, departure_time FROM stop_times ORDER BY stop_sequence") == [
        ("05:30:00", "05:30:00"),
        ("05:35:00", "05:36:00"),
    ]


def test_import_feed_keeps_times_past_midnight(tmp_path: Path) -> None:
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,23:59:00,23:59:00,S1,1\nT1,29:39:00,29:39:00,S2,2\n"
    )
    db, _ = _import(tmp_path, feed_files(stop_times=stop_times))
    assert rows(db, "SELECT max(arrival_time) FROM stop_times") == [("29:39:00",)]


def test_import_feed_stores_empty_times_as_null(tmp_path: Path) -> None:
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,,,S2,2\nT1, , ,S1,3\nT1,08:09:00,08:09:00,S2,4\n"
    )
    db, _ = _import(tmp_path, feed_files(stop_times=stop_times))
    assert rows(db, "SELECT stop_sequence FROM stop_times WHERE arrival_time IS NULL ORDER BY 1") == [
        (2,),
        (3,),
    ]


def test_import_feed_reads_a_cp1252_file_beside_utf8_files_and_warns(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,Café Müller,48.85,2.35\nS2,Two,48.86,2.36\n"
    agency = (
        "agency_id,agency_name,agency_url,agency_timezone\nA,Société ünd Ø,https://a.example,Europe/Paris\n"
    )
    db, report = _import(tmp_path, feed_files(stops=stops.encode("cp1252"), agency=agency))
    assert rows(db, "SELECT stop_name FROM stops WHERE stop_id = 'S1'") == [("Café Müller",)]
    assert rows(db, "SELECT agency_name FROM agency") == [("Société ünd Ø",)]
    assert [w for w in report.warnings if "stops.txt" in w and "Windows-1252" in w]
    assert not [w for w in report.warnings if "agency.txt" in w]


def test_import_feed_rereads_whole_a_file_whose_first_bad_byte_comes_late(tmp_path: Path) -> None:
    many = "".join(f"S{i},Stop {i},48.85,2.35\n" for i in range(3, 5000))
    stops = f"stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36\n{many}X,Gare de l'Est é,1,1\n"
    db, report = _import(tmp_path, feed_files(stops=stops.encode("cp1252")))
    assert report.rows["stops"] == 5000
    assert rows(db, "SELECT stop_name FROM stops WHERE stop_id = 'X'") == [("Gare de l'Est é",)]


def test_import_feed_keeps_bytes_cp1252_leaves_undefined(tmp_path: Path) -> None:
    stops = b"stop_id,stop_name,stop_lat,stop_lon\nS1,caf\xe9 \x81,48.85,2.35\nS2,Two,48.86,2.36\n"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT stop_name FROM stops WHERE stop_id = 'S1'") == [("caf\xe9 \x81",)]


def test_import_feed_accepts_calendar_dates_only(tmp_path: Path) -> None:
    dates = "service_id,date,exception_type\nWK,20240102,1\nWK,20240103,1\n"
    db, report = _import(tmp_path, feed_files(calendar=None, calendar_dates=dates))
    assert report.rows["calendar_dates"] == 2 and "calendar" not in tables(db)


def test_import_feed_reads_files_in_a_zip_subfolder(tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    report = import_feed(
        write_feed(tmp_path / "feed", MINIMAL, folder="gtfs-2024/"), db_url=f"sqlite:///{db}"
    )
    assert report.rows["stop_times"] == 2 and report.warnings == []


def test_import_feed_prefers_the_folder_holding_the_feed(tmp_path: Path) -> None:
    files = {f"gtfs/{name}": text for name, text in MINIMAL.items()}
    _, report = _import(tmp_path, {**files, "readme.txt": "about this feed"})
    assert report.rows["stop_times"] == 2
    assert report.warnings == ["readme.txt: ignored, the feed's files are in gtfs of the zip"]


def test_import_feed_skips_an_empty_optional_file_with_a_warning(tmp_path: Path) -> None:
    db, report = _import(tmp_path, feed_files(frequencies=""))
    assert "frequencies" not in tables(db) and "frequencies.txt: empty; skipped" in report.warnings


def test_import_feed_loads_a_file_with_only_a_header(tmp_path: Path) -> None:
    db, report = _import(tmp_path, feed_files(frequencies="trip_id,start_time,end_time,headway_secs\r\n"))
    assert report.rows["frequencies"] == 0 and "frequencies" in tables(db)


def test_import_feed_ignores_stray_zip_entries(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        **MINIMAL,
        "__MACOSX/._stops.txt": b"\x00\x05\x16\x07junk",
        "__MACOSX/stops.txt": "garbage",
        "desktop.ini": "[.ShellClassInfo]",
        ".DS_Store": b"\x00\x00",
        "readme.pdf": b"%PDF",
        "docs/": "",
    }
    _, report = _import(tmp_path, files)
    assert report.rows["stops"] == 2 and report.warnings == []


def test_import_feed_keeps_an_unknown_column_as_text(tmp_path: Path) -> None:
    trips = "route_id,service_id,trip_id,train_id\nR1,WK,T1,0042\n"
    db, _ = _import(tmp_path, feed_files(trips=trips))
    assert rows(db, "SELECT train_id, typeof(train_id) FROM trips") == [("0042", "text")]


def test_import_feed_skips_an_unknown_file_with_a_warning(tmp_path: Path) -> None:
    db, report = _import(tmp_path, {**MINIMAL, "vehicles.txt": "vehicle_id\nV1\n"})
    assert "vehicles" not in tables(db)
    assert any("vehicles.txt" in w for w in report.warnings)


def test_import_feed_keeps_ids_as_text(tmp_path: Path) -> None:
    files = feed_files(
        stops="stop_id,stop_name,stop_lat,stop_lon\n007,Bond,48.85,2.35\nMETRÔ L4 1,Two,48.86,2.36\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,007,1\nT1,08:05:00,08:05:00,METRÔ L4 1,2\n",
    )
    db, _ = _import(tmp_path, files)
    assert rows(db, "SELECT stop_id, typeof(stop_id) FROM stops ORDER BY 1") == [
        ("007", "text"),
        ("METRÔ L4 1", "text"),
    ]


def test_import_feed_accepts_integral_floats_for_integers(tmp_path: Path) -> None:
    routes = "route_id,agency_id,route_short_name,route_type\nR1,A,1,3.0\n"
    db, _ = _import(tmp_path, feed_files(routes=routes))
    assert rows(db, "SELECT route_type, typeof(route_type) FROM routes") == [(3, "integer")]


def test_import_feed_warns_about_a_parent_station_not_in_the_feed(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon,parent_station\nS1,One,48.85,2.35,P9\nS2,Two,48.86,2.36,\n"
    db, report = _import(tmp_path, feed_files(stops=stops))
    assert rows(db, "SELECT parent_station FROM stops WHERE stop_id = 'S1'") == [("P9",)]
    assert any("parent_station" in w and "'P9'" in w for w in report.warnings)


def test_import_feed_warns_about_a_service_in_no_calendar(tmp_path: Path) -> None:
    _, report = _import(tmp_path, feed_files(trips="route_id,service_id,trip_id\nR1,XX,T1\n"))
    assert any("service_id" in w and "'XX'" in w for w in report.warnings)


def test_import_feed_drops_rows_repeated_exactly_with_a_warning(tmp_path: Path) -> None:
    agency = MINIMAL["agency.txt"] + MINIMAL["agency.txt"].splitlines()[1] + "\n"
    db, report = _import(tmp_path, feed_files(agency=agency))
    assert rows(db, "SELECT count(*) FROM agency") == [(1,)]
    assert report.dropped == {"repeated_row": 1}
    assert any("agency.txt" in w and "exactly" in w for w in report.warnings)


def test_import_feed_records_what_it_loaded(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed", MINIMAL)
    db = tmp_path / "gtfs.sqlite"
    import_feed(feed, db_url=f"sqlite:///{db}")
    [(source, digest, imported_at, counts)] = rows(
        db, f"SELECT source, sha256, imported_at, row_counts FROM {IMPORT_TABLE}"
    )
    assert (source, digest) == ("feed.zip", hashlib.sha256(feed.read_bytes()).hexdigest())
    assert json.loads(counts)["stop_times"] == 2 and imported_at.endswith("+00:00")


def test_import_feed_creates_the_builders_indexes(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon,parent_station\nS1,One,48.85,2.35,\nS2,Two,48.86,2.36,\n"
    db, _ = _import(tmp_path, feed_files(stops=stops))
    indexed = {
        (r[0], r[1])
        for r in rows(
            db,
            "SELECT m.name, group_concat(i.name) FROM sqlite_master m, pragma_index_info(m.name) i "
            "WHERE m.type = 'index' GROUP BY m.name",
        )
    }
    columns = {name.split("_", 1)[1]: cols for name, cols in indexed}
    assert columns["stop_times_trip_id_stop_sequence"] == "trip_id,stop_sequence"
    assert {"stop_times_stop_id", "trips_route_id", "stops_parent_station", "stops_stop_id"} <= columns.keys()


def test_import_feed_keeps_the_permissions_of_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    old_umask = os.umask(0o022)
    try:
        import_feed(write_feed(tmp_path / "one", MINIMAL), db_url=f"sqlite:///{db}")
        assert db.stat().st_mode & 0o777 == 0o644
        db.chmod(0o640)
        import_feed(write_feed(tmp_path / "two", MINIMAL), db_url=f"sqlite:///{db}")
    finally:
        os.umask(old_umask)
    assert db.stat().st_mode & 0o777 == 0o640


def test_import_feed_replaces_the_file_a_symlink_points_to(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite"
    link = tmp_path / "gtfs.sqlite"
    import_feed(write_feed(tmp_path / "one", MINIMAL), db_url=f"sqlite:///{real}")
    link.symlink_to(real)
    import_feed(write_feed(tmp_path / "two", MINIMAL), db_url=f"sqlite:///{link}")
    assert link.is_symlink() and rows(link, "SELECT count(*) FROM stop_times") == [(2,)]


def test_import_feed_replaces_an_earlier_import(tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    frequencies = "trip_id,start_time,end_time,headway_secs\nT1,06:00:00,09:00:00,600\n"
    import_feed(write_feed(tmp_path / "one", feed_files(frequencies=frequencies)), db_url=f"sqlite:///{db}")
    import_feed(write_feed(tmp_path / "two", MINIMAL), db_url=f"sqlite:///{db}")
    assert "frequencies" not in tables(db)


def test_import_into_replaces_tables_left_by_an_earlier_feed(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'gtfs.sqlite'}")
    frequencies = "trip_id,start_time,end_time,headway_secs\nT1,06:00:00,09:00:00,600\n"
    import_into(engine, write_feed(tmp_path / "one", feed_files(frequencies=frequencies)))
    report = import_into(engine, write_feed(tmp_path / "two", MINIMAL), ImportOptions())
    engine.dispose()
    assert "frequencies" not in report.rows and "frequencies" not in tables(tmp_path / "gtfs.sqlite")


def test_import_feed_loads_into_sqlite_in_memory(tmp_path: Path) -> None:
    report = import_feed(write_feed(tmp_path / "feed", MINIMAL), db_url="sqlite://")
    assert report.rows["stop_times"] == 2


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_parser_time_zero_pads_any_valid_time(hours: int, minutes: int, seconds: int) -> None:
    parse = parser(gtfs.Kind.TIME)
    assert parse(f"{hours}:{minutes:02}:{seconds:02}") == f"{hours:02}:{minutes:02}:{seconds:02}"


@pytest.mark.parametrize("text", ["25:61:00", "8:00", "08:00:60", "1:2:3", "100:00:00", "８:00:00", "x"])
def test_parser_time_rejects_malformed_times(text: str) -> None:
    with pytest.raises(ValueError):
        parser(gtfs.Kind.TIME)(text)


@pytest.mark.parametrize("text,value", [("7", 7), (" 7 ", 7), ("7.0", 7), ("-1", -1), ("", None)])
def test_parser_integer_accepts_whole_numbers(text: str, value: int | None) -> None:
    assert parser(gtfs.Kind.INT)(text) == value


@pytest.mark.parametrize("text", ["7.5", "x", "1_000", "nan", "٣", "1e400", "9" * 30])
def test_parser_integer_rejects_others(text: str) -> None:
    with pytest.raises(ValueError):
        parser(gtfs.Kind.INT)(text)
