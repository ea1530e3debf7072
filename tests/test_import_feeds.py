"""import_feed on the real feeds in ../shared/feeds: every row of every file lands in the database."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder import gtfs
from builder.importer.run import import_feed
from tests.test_import_support import rows

FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "feeds"
# mta_bus_brooklyn (2.4M stop_times) is the speed benchmark, not a test.
FEED_ZIPS = sorted(p for p in FEEDS.glob("*.zip") if p.stem != "mta_bus_brooklyn") if FEEDS.is_dir() else []
NO_FEEDS = pytest.param(
    None, marks=pytest.mark.skip(reason=f"the real feeds are not beside the repo: {FEEDS}")
)


def csv_row_counts(feed: Path) -> dict[str, int]:
    """Data rows of each GTFS file, counted apart from the importer: rows with a value, less the rows that
    repeat an earlier row of a keyed file exactly (those are dropped with a warning)."""
    counts = {}
    with zipfile.ZipFile(feed) as archive:
        for entry in archive.namelist():
            name = Path(entry).stem
            if name not in gtfs.TABLES or not entry.endswith(".txt") or entry.startswith("__MACOSX"):
                continue
            data = archive.read(entry)
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
            counts[name] = _count(csv.reader(io.StringIO(text, newline="")), bool(gtfs.TABLES[name].key))
    return counts


def _count(reader: Iterator[list[str]], keyed: bool) -> int:
    header = next(row for row in reader if row)
    width = len([h for h in header if h.strip()])
    seen: set[tuple[str, ...]] = set()
    count = 0
    for row in reader:
        values = tuple(v.strip() for v in (row + [""] * width)[:width])
        if not any(values) or (keyed and values in seen):
            continue
        seen.add(values)
        count += 1
    return count


@pytest.mark.feeds
@pytest.mark.parametrize("feed", FEED_ZIPS or [NO_FEEDS], ids=lambda p: p.stem if p else "absent")
def test_import_feed_loads_every_row_of_a_real_feed(feed: Path, tmp_path: Path) -> None:
    db = tmp_path / "gtfs.sqlite"
    report = import_feed(feed, db_url=f"sqlite:///{db}")
    expected = csv_row_counts(feed)
    assert report.rows == expected
    assert {t: rows(db, f'SELECT count(*) FROM "{t}"')[0][0] for t in expected} == expected
    assert set(report.dropped) <= {"repeated_row"}
