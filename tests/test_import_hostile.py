"""Hostile feeds: bombs, giant lines, a million columns, a billion blank lines. Each is refused by the real
CLI in seconds and in bounded memory, with the database and the published snapshot byte for byte as they were.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from builder.build import BuildSettings, build
from builder.errors import FeedError
from builder.importer.feedfiles import open_csv, open_feed
from builder.importer.limits import ImportLimits, LimitError
from builder.importer.run import import_feed
from tests.conftest import FEEDS, needs_feeds
from tests.hostile import GB, MB, Repeated, write_listing, write_zip
from tests.test_import_support import MINIMAL, feed_files, rows, sha256, write_feed

CLI = str(Path(sys.executable).parent / "transit-snapshot")
ST_HEADER = b"trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
STOPS_HEADER = b"stop_id,stop_name,stop_lat,stop_lon\n"
MAX_RSS_MB = 200
MAX_SECONDS = 20  # measured well under 2 s each; the margin is for a loaded 2-core machine
# The importer before these limits would take the machine down on some of these: a ceiling and a deadline.
_ADDRESS_SPACE = 3 * GB
_DEADLINE = 120


@dataclass(frozen=True)
class Published:
    db: Path
    out: Path


@dataclass(frozen=True)
class Run:
    status: int
    stderr: str
    seconds: float
    rss_mb: float


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """A database holding a valid import, and a snapshot of it published as `current`."""
    where = tmp_path_factory.mktemp("published")
    db = where / "db" / "gtfs.sqlite"
    db.parent.mkdir()
    import_feed(write_feed(where / "feed", MINIMAL), db_url=f"sqlite:///{db}")
    build(BuildSettings(db_url=f"sqlite:///{db}", out_dir=where / "out", workers=1))
    return Published(db, where / "out")


def _state(published: Published) -> dict[str, str]:
    """Every byte the import must not touch: the database folder and the published release."""
    state = {f"db/{p.name}": sha256(p) for p in published.db.parent.iterdir()}
    current = published.out / "current"
    state["current ->"] = os.readlink(current)
    for path in sorted(current.resolve().rglob("*")):
        if path.is_file():
            state[str(path.relative_to(published.out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


# The import runs as the child of a small Python process that reports its peak RSS: measured from the test
# process itself, a forked child would count the pages it shares with the test process.
_MEASURE = """
import resource, subprocess, sys
ceiling = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
try:
    status = subprocess.run(sys.argv[3:], stdout=subprocess.DEVNULL, timeout=float(sys.argv[2])).returncode
except subprocess.TimeoutExpired:
    status = -9
print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_import(feed: Path, db: Path, *options: str) -> Run:
    """`transit-snapshot import` in a child process, with its exit status, time and peak RSS."""
    return run_measured([CLI, "import", str(feed), "--db", f"sqlite:///{db}", *options])


def run_measured(command: list[str]) -> Run:
    """`command` in a child process, with its exit status, time and peak RSS."""
    start = time.monotonic()
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(_ADDRESS_SPACE), str(_DEADLINE), *command],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.monotonic() - start
    status, rss_kb = measured.stdout.split()
    return Run(int(status), measured.stderr, seconds, int(rss_kb) / 1024)


def refused_in_bounds(published: Published, feed: Path, message: str, *options: str) -> Run:
    before = _state(published)
    run = run_import(feed, published.db, *options)
    assert run.status == 3, run
    assert re.search(message, run.stderr), run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) <= 2, run.stderr
    assert run.seconds < MAX_SECONDS, run
    assert run.rss_mb < MAX_RSS_MB, run
    assert _state(published) == before
    return run


def hostile_zip(tmp_path: Path, **changes: bytes | Repeated) -> Path:
    files: dict[str, str | bytes | Repeated] = dict(MINIMAL)
    files.update({f"{stem}.txt": content for stem, content in changes.items()})
    return write_zip(tmp_path / "hostile.zip", files)


def test_import_refuses_a_zip_bomb_by_its_declared_size(published: Published, tmp_path: Path) -> None:
    feed = hostile_zip(tmp_path, stop_times=Repeated(ST_HEADER, b"\0" * MB, 10 * 1024))  # 10 GB of zeros
    refused_in_bounds(
        published,
        feed,
        r"stop_times\.txt: 10,737,418,298 bytes uncompressed, more than 4,294,967,296 "
        r"\(--max-file-bytes\)",
    )


def test_import_refuses_a_zip_bomb_by_its_ratio(published: Published, tmp_path: Path) -> None:
    feed = hostile_zip(tmp_path, stop_times=Repeated(ST_HEADER, b"\0" * MB, 2 * 1024))  # 2 GB in 2 MB
    refused_in_bounds(
        published, feed, r"stop_times\.txt: compressed [\d,]+:1, more than 200:1 \(--max-ratio\)"
    )


def test_import_refuses_a_zip_bomb_whose_header_lies(published: Published, tmp_path: Path) -> None:
    # 10 GB of zeros said to be 1.5 GB: the declared ratio (~150:1) passes, the reading must not.
    bomb = Repeated(ST_HEADER, b"\0" * MB, 10 * 1024, declared_size=3 * GB // 2)
    refused_in_bounds(published, hostile_zip(tmp_path, stop_times=bomb), r"stop_times\.txt: line 2 ")


def test_import_refuses_a_line_of_a_gigabyte(published: Published, tmp_path: Path) -> None:
    # Junk after the deflate stream makes it look compressed 90:1, so that the line itself is what is refused.
    stops = Repeated(STOPS_HEADER + b"S1,", b"x" * MB, 1024, b",48.85,2.35\n", padding=10 * MB)
    refused_in_bounds(
        published,
        hostile_zip(tmp_path, stops=stops),
        r"stops\.txt: line 2 is longer than 1,048,576 bytes \(--max-line-bytes\)",
    )


def test_import_refuses_a_million_columns(published: Published, tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode() + b"\n"  # 6.9 MB
    feed = hostile_zip(tmp_path, stops=Repeated(STOPS_HEADER[:-1] + b"," + header, b"", 0))
    refused_in_bounds(published, feed, r"stops\.txt: line 1 is longer than 1,048,576 bytes")
    refused_in_bounds(
        published,
        feed,
        r"stops\.txt: line 1 has 1,000,004 fields, more than 1,000 \(--max-columns\)",
        "--max-line-bytes",
        "16000000",
    )


def test_import_refuses_a_billion_blank_lines_by_their_ratio(published: Published, tmp_path: Path) -> None:
    blank = Repeated(ST_HEADER, b"\n" * MB, 954)  # 1,000,341,504 lines
    refused_in_bounds(
        published, hostile_zip(tmp_path, stop_times=blank), r"stop_times\.txt: .*\(--max-ratio\)"
    )


def test_import_refuses_a_billion_blank_lines_at_an_ordinary_ratio(
    published: Published, tmp_path: Path
) -> None:
    # Junk after the deflate stream makes the entry look compressed 100:1; the blank lines must still not
    # be read one by one for minutes.
    blank = Repeated(ST_HEADER, b"\r\n" * (MB // 2), 1908, padding=20 * MB)
    refused_in_bounds(
        published,
        hostile_zip(tmp_path, stop_times=blank),
        r"stop_times\.txt: lines 2 to \S+ are blank, more than 1,048,576 bytes in a row \(--max-line-bytes\)",
    )


def test_import_refuses_a_zip_listing_too_many_entries(published: Published, tmp_path: Path) -> None:
    # zipfile reads a zip's whole directory into memory first, some 550 bytes an entry.
    refused_in_bounds(
        published,
        write_listing(tmp_path / "many.zip", 60_000),
        r"the zip lists 60,000 entries, more than 10,000 \(--max-zip-entries\)",
    )
    refused_in_bounds(
        published,
        write_listing(tmp_path / "lying.zip", 200_000, declared=6),
        r"the zip's directory takes 10,200,000 bytes, more than 10,000 entries need "
        r"\(--max-zip-entries\)",
    )


def test_import_refuses_a_zip_entry_compressed_with_bzip2(published: Published, tmp_path: Path) -> None:
    # zipfile gives bzip2 each 4 KB whole: 177 bytes of it make 200 MB of zeros in one call.
    feed = write_feed(tmp_path / "bzip2", MINIMAL)
    with zipfile.ZipFile(feed, "a", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("shapes.txt", "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n")
    refused_in_bounds(
        published, feed, r"shapes\.txt: compressed with bzip2; only deflate and stored zip entries are read"
    )


def test_import_limits_are_options_of_the_cli(published: Published, tmp_path: Path) -> None:
    stops = STOPS_HEADER + b"S1," + b"x" * 5000 + b",48.85,2.35\n"
    feed = hostile_zip(tmp_path, stops=stops)
    refused_in_bounds(
        published,
        feed,
        r"stops\.txt: line 2 is longer than 4,000 bytes \(--max-line-bytes\)",
        "--max-line-bytes",
        "4000",
    )
    refused_in_bounds(
        published,
        feed,
        r"stops\.txt: line 2 has a field longer than 1,000 characters "
        r"\(--max-field-chars\)",
        "--max-field-chars",
        "1000",
    )
    refused_in_bounds(
        published,
        feed,
        r"stops\.txt: 5,\d\d\d bytes uncompressed, more than 5,000 "
        r"\(--max-file-bytes\)",
        "--max-file-bytes",
        "5000",
    )


@pytest.mark.parametrize(
    "option",
    [
        "--max-line-bytes",
        "--max-field-chars",
        "--max-columns",
        "--max-file-bytes",
        "--max-ratio",
        "--max-zip-entries",
    ],
)
def test_import_limit_options_refuse_a_bad_value_in_one_line(option: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [CLI, "import", "feed.zip", option, "0"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 2 and option in result.stderr and "Traceback" not in result.stderr


def _refused_by_library(feed: Path, db: Path, limits: ImportLimits, message: str) -> None:
    before = sha256(db)
    with pytest.raises(FeedError, match=message):
        import_feed(feed, db_url=f"sqlite:///{db}", limits=limits)
    assert sha256(db) == before


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gtfs.sqlite"
    import_feed(write_feed(tmp_path / "earlier", MINIMAL), db_url=f"sqlite:///{path}")
    return path


def test_import_feed_limits_a_folder_line_by_line(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2," + "x" * 3000 + ",48.86,2.36\n"
    feed = write_feed(db.parent / "folder", feed_files(stops=stops), as_zip=False)
    _refused_by_library(
        feed,
        db,
        ImportLimits(max_line_bytes=2000),
        r"stops\.txt: line 3 is longer than 2,000 bytes \(--max-line-bytes\)",
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_import_feed_names_the_long_line_chunks_away(db: Path, newline: str) -> None:
    # 3,000 lines of about 40 bytes: the long one is read in the third 64 KB chunk of the file.
    lines = [
        "stop_id,stop_name,stop_lat,stop_lon",
        *(f"S{i},Stop number {i:06},48.85,2.35" for i in range(2, 4000)),
    ]
    lines[2999] = "S3000," + "x" * 150 + ",48.85,2.35"
    feed = write_feed(db.parent / "folder", feed_files(stops=newline.join(lines) + newline), as_zip=False)
    _refused_by_library(
        feed,
        db,
        ImportLimits(max_line_bytes=100),
        r"stops\.txt: line 3,000 is longer than 100 bytes \(--max-line-bytes\)",
    )


def test_import_feed_limits_a_quoted_record_over_many_lines(db: Path) -> None:
    # Each line is short, but the quotes make one record of them all (of 80,000 fields): it is bounded
    # like a line, to within a chunk or two of reading.
    stops = (
        'stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,"' + '\n","' * 80_000 + '",48.86,2.36\n'
    )
    feed = write_feed(db.parent / "folder", feed_files(stops=stops), as_zip=False)
    _refused_by_library(
        feed,
        db,
        ImportLimits(max_line_bytes=2000, max_columns=100_000),
        r"stops\.txt: line [\d,]+ is still inside one record after more than 2,000 bytes "
        r"\(a quote left open\?\) \(--max-line-bytes\)",
    )
    # A value with line breaks is no record of its own: 500 KB of them are read as one value.
    stops = (
        'stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,"Two'
        + "\n" * 500_000
        + 'Deux",48.86,2.36\n'
    )
    feed = write_feed(db.parent / "within", feed_files(stops=stops), as_zip=False)
    import_feed(feed, db_url=f"sqlite:///{db}", limits=ImportLimits(max_field_chars=600_000))
    assert rows(db, "SELECT stop_id, length(stop_name) FROM stops") == [("S1", 3), ("S2", 500_007)]


def test_import_feed_limits_the_fields_of_a_data_row(db: Path) -> None:
    stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36" + ",x" * 30 + "\n"
    feed = write_feed(db.parent / "feed", feed_files(stops=stops))
    _refused_by_library(
        feed,
        db,
        ImportLimits(max_columns=20),
        r"stops\.txt: line 3 has 34 fields, more than 20 \(--max-columns\)",
    )


def test_import_feed_counts_the_bytes_of_a_file_that_grows_while_read(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "folder", MINIMAL, as_zip=False)
    limits = ImportLimits(max_file_bytes=10_000)
    with open_feed(feed, limits) as opened:
        with open(feed / "stops.txt", "a") as grow:  # after the sizes were checked
            grow.write("S9,Nine,48.85,2.35\n" * 1000)
        with (
            pytest.raises(FeedError, match=r"stops\.txt: more than 10,000 bytes \(--max-file-bytes\)"),
            open_csv(opened, "stops.txt", "utf-8-sig") as csv_file,
        ):
            assert csv_file is not None
            for _ in csv_file:
                pass


def test_import_limits_refuse_values_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        ImportLimits(max_line_bytes=0)
    with pytest.raises(ValueError, match="max_ratio"):
        ImportLimits(max_ratio=0.5)


@pytest.mark.feeds
@needs_feeds
def test_every_real_feed_passes_the_default_limits() -> None:
    """The sizes and ratios of every real feed, and every line of the largest (mta_bus_brooklyn, which
    test_import_feeds leaves out for speed; the others are imported whole there, under these defaults)."""
    limits = ImportLimits()
    for path in sorted(FEEDS.glob("*.zip")):
        with open_feed(path, limits) as feed:
            feed.check_sizes()
    with open_feed(FEEDS / "mta_bus_brooklyn.zip", limits) as feed:
        for name in feed.members:
            with open_csv(feed, name, "utf-8-sig") as csv_file:
                assert csv_file is not None
                assert sum(1 for _ in csv_file) > 0


def test_import_feed_into_postgresql_refuses_a_gigabyte_line_and_keeps_the_tables(
    pg_url: str, tmp_path: Path
) -> None:
    import_feed(write_feed(tmp_path / "earlier", MINIMAL), db_url=pg_url)
    engine = sa.create_engine(pg_url)
    query = "SELECT stop_id, stop_name FROM stops ORDER BY 1"
    try:
        with engine.connect() as conn:
            before = [tuple(r) for r in conn.exec_driver_sql(query)]
        stops = Repeated(STOPS_HEADER + b"S1,", b"x" * MB, 1024, b",48.85,2.35\n", padding=10 * MB)
        with pytest.raises(LimitError, match=r"stops\.txt: line 2 is longer than 1,048,576 bytes"):
            import_feed(hostile_zip(tmp_path, stops=stops), db_url=pg_url)
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.exec_driver_sql(query)] == before == [("S1", "One"), ("S2", "Two")]
    finally:
        engine.dispose()
