"""One build reads one database state: an import, or another writer, landing at any moment of a build never
makes it publish a mix of two feeds.

The import is the real `transit-snapshot import` in its own process. A test Progress runs it at a chosen
moment of an in-process build (before the tasks are planned, after some documents are written by two
workers, at the start of the indexes), so each moment is hit every time; other tests run the build itself
as a process beside it. The published release is then checked against the feed the build started from by
the independent oracle, and its indexes against its own documents.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from builder.build import BuildSettings, build
from builder.errors import DatabaseChangedError
from tests.conftest import FEEDS, ORACLE, assert_oracle_agrees, needs_feeds
from tests.synthetic import write_feed
from tests.test_safety import hashes, one_clear_line, staging, wait_for

pytestmark = needs_feeds
CLI = str(Path(sys.executable).parent / "transit-snapshot")
FEED, OTHER = FEEDS / "caltrain.zip", FEEDS / "google_sample.zip"
MOMENTS = ["planning", "documents-written", "indexes"]


class StrikeAt:
    """A Progress that runs `strike` once, at one moment of the build, in the build process itself."""

    def __init__(self, moment: str, strike: Callable[[], None]) -> None:
        self.moment, self.strike, self.struck = moment, strike, False

    def _once(self) -> None:
        if not self.struck:
            self.struck = True
            self.strike()

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[None]:
        if (name, self.moment) in (("documents", "planning"), ("indexes", "indexes")):
            self._once()  # the documents phase starts with planning the tasks
        yield

    def advance(self, done: int) -> None:
        if self.moment == "documents-written" and done > 0:
            self._once()


def import_cli(feed: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "import", str(feed), "--db", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


def start_import(feed: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PGAPPNAME": "test-import"}
    return subprocess.Popen(
        [CLI, "import", str(feed), "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def assert_wholly(feed: Path, out: Path) -> None:
    """`out/current` is every document of `feed` and nothing else: the oracle finds no mismatch, and the
    indexes and feed.json count exactly the documents the release holds."""
    assert_oracle_agrees(ORACLE, feed, out / "current")
    current = out / "current"
    documents = orjson.loads((current / "manifest.json").read_bytes())["documents"]
    ids = {kind: sorted(d["id"] for d in documents if d["kind"] == kind) for kind in ("route", "stop")}
    assert (
        sorted(r["route_id"] for r in orjson.loads((current / "routes.json").read_bytes())["routes"])
        == ids["route"]
    )
    assert (
        sorted(s["stop_id"] for s in orjson.loads((current / "stops.json").read_bytes())["stops"])
        == ids["stop"]
    )
    counts = orjson.loads((current / "feed.json").read_bytes())["counts"]
    assert (counts["routes"], counts["stops"]) == (len(ids["route"]), len(ids["stop"]))
    assert counts["trips"] == sum(d["kind"] == "trip" for d in documents)


def built(url: str, out: Path, progress: StrikeAt | None = None, workers: int = 2) -> None:
    result = build(BuildSettings(db_url=url, out_dir=out, workers=workers), progress)
    assert result.published
    assert progress is None or progress.struck


# --- SQLite: the import builds a new file and renames it over the one the build started from ---------


@pytest.mark.parametrize("moment", MOMENTS)
def test_build_of_sqlite_publishes_the_state_it_started_from_whatever_the_import_moment(
    moment: str, tmp_path: Path
) -> None:
    url, out = f"sqlite:///{tmp_path / 'gtfs.sqlite'}", tmp_path / "out"
    assert import_cli(FEED, url).returncode == 0
    imports: list[subprocess.CompletedProcess[str]] = []
    built(url, out, StrikeAt(moment, lambda: imports.append(import_cli(OTHER, url))))
    assert imports[0].returncode == 0, imports[0].stderr  # the import neither failed nor waited
    assert_wholly(FEED, out)
    built(url, out)  # and the next build publishes what the import loaded
    assert_wholly(OTHER, out)


def test_build_of_sqlite_in_wal_mode_publishes_nothing_when_an_import_lands(tmp_path: Path) -> None:
    """A WAL database is read through its path (its -wal file belongs to the path): a change is noticed."""
    db = tmp_path / "gtfs.sqlite"
    url, out = f"sqlite:///{db}", tmp_path / "out"
    assert import_cli(FEED, url).returncode == 0
    built(url, out)
    before = hashes(out / "current")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    unchanged = build(BuildSettings(db_url=url, out_dir=out, workers=2))  # no change, no false alarm
    assert not unchanged.published and db.read_bytes()[18] == 2  # still in WAL mode
    strike = StrikeAt("documents-written", lambda: import_cli(OTHER, url))
    with pytest.raises(DatabaseChangedError, match="changed during the build"):
        build(BuildSettings(db_url=url, out_dir=out, workers=2), strike)
    assert hashes(out / "current") == before and not staging(out)
    built(url, out)
    assert_wholly(OTHER, out)


def test_build_with_output_on_another_filesystem_publishes_nothing_when_an_import_lands(
    tmp_path: Path,
) -> None:
    """The file cannot be pinned from another filesystem: the fingerprint backstop notices the import."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no tmpfs at /dev/shm on another filesystem than the temporary folder")
    url = f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    out = shm / f"transit-snapshot-test-{os.getpid()}-{time.time_ns()}"
    try:
        assert import_cli(FEED, url).returncode == 0
        built(url, out)
        before = hashes(out / "current")
        with pytest.raises(DatabaseChangedError, match="next run publishes"):
            build(
                BuildSettings(db_url=url, out_dir=out, workers=2),
                StrikeAt("documents-written", lambda: import_cli(OTHER, url)),
            )
        assert hashes(out / "current") == before and not staging(out)
        built(url, out)
        assert_wholly(OTHER, out)
    finally:
        subprocess.run(["rm", "-rf", str(out)], check=False)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A feed whose build with two workers takes a couple of seconds: room for an import beside it."""
    return write_feed(tmp_path / "synthetic", routes=150, trips_per_route=30, stops=1500)


def writing_documents(out: Path) -> bool:
    releases = out / "releases"
    return releases.is_dir() and any(
        (p / "trips").is_dir() and any((p / "trips").iterdir()) for p in staging(out)
    )


def start_build(url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "build", "--db", url, "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_build_and_import_as_concurrent_processes_on_sqlite(synthetic: Path, tmp_path: Path) -> None:
    url, out = f"sqlite:///{tmp_path / 'gtfs.sqlite'}", tmp_path / "out"
    assert import_cli(synthetic, url).returncode == 0
    proc = start_build(url, out)
    wait_for(lambda: writing_documents(out), proc, "documents were written")
    imported = import_cli(FEED, url)
    _, stderr = proc.communicate(timeout=300)
    assert imported.returncode == 0, imported.stderr
    assert proc.returncode == 0, stderr
    assert_wholly(synthetic, out)


def test_build_whose_sqlite_file_is_written_in_place_exits_6_and_keeps_current(
    synthetic: Path, tmp_path: Path
) -> None:
    db, out = tmp_path / "gtfs.sqlite", tmp_path / "out"
    url = f"sqlite:///{db}"
    assert import_cli(FEED, url).returncode == 0
    assert start_build(url, out).wait(timeout=300) == 0
    before = hashes(out / "current")
    assert import_cli(synthetic, url).returncode == 0
    proc = start_build(url, out)
    wait_for(lambda: writing_documents(out), proc, "documents were written")
    with sqlite3.connect(db, timeout=60) as conn:  # another tool writing the same file, not replacing it
        conn.execute("UPDATE stops SET stop_name = stop_name || ' (renamed)'")
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 6, stderr
    line = one_clear_line(stderr)
    assert "changed during the build" in line and "next run publishes" in line
    assert hashes(out / "current") == before and not staging(out)
    assert start_build(url, out).wait(timeout=300) == 0
    assert hashes(out / "current") != before


# --- PostgreSQL: one exported snapshot; an import replacing the tables waits for the build -----------


def import_began(url: str, proc: subprocess.Popen[str]) -> bool:
    """Whether the import process has begun its transaction (or already ended)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'test-import' AND xact_start IS NOT NULL"
            ).scalar_one()
    finally:
        engine.dispose()
    return bool(found) or proc.poll() is not None


def rewrite_rows(url: str) -> None:
    """Another writer changing rows in place (no lock the build's snapshot would stop)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE stops SET stop_name = stop_name || ' (renamed)'")
        conn.exec_driver_sql("DELETE FROM stop_times WHERE stop_sequence > 3")
    engine.dispose()


@pytest.mark.parametrize("moment", MOMENTS)
def test_build_of_postgresql_publishes_the_state_it_started_from_whatever_the_import_moment(
    moment: str, pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert import_cli(FEED, pg_url).returncode == 0
    imports: list[subprocess.Popen[str]] = []

    def strike() -> None:
        imports.append(start_import(OTHER, pg_url))
        deadline = time.monotonic() + 60
        while not import_began(pg_url, imports[0]):
            assert time.monotonic() < deadline, "the import never began"
            time.sleep(0.05)
        rewrite_rows(pg_url)

    try:
        built(pg_url, out, StrikeAt(moment, strike))
        assert_wholly(FEED, out)
    finally:
        _, stderr = imports[0].communicate(timeout=300)
    assert imports[0].returncode == 0, stderr  # it waited for the build, then loaded its feed
    built(pg_url, out)
    assert_wholly(OTHER, out)


def test_build_and_import_as_concurrent_processes_on_postgresql(
    synthetic: Path, pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert import_cli(synthetic, pg_url).returncode == 0
    proc = start_build(pg_url, out)
    wait_for(lambda: writing_documents(out), proc, "documents were written")
    imported = start_import(FEED, pg_url)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert imported.wait(timeout=300) == 0, imported.communicate()[1]
    assert_wholly(synthetic, out)
    built(pg_url, out)
    assert_wholly(FEED, out)


def test_build_of_postgresql_stops_with_6_when_a_session_waits_to_drop_a_table(
    pg_url: str, tmp_path: Path
) -> None:
    """A third-party DROP queued behind the build's locks would make every later task of the build wait
    for it, and so for the build itself: the build stops at once instead, and the DROP goes through."""
    out = tmp_path / "out"
    assert import_cli(FEED, pg_url).returncode == 0
    built(pg_url, out)
    before = hashes(out / "current")
    engine = sa.create_engine(pg_url)
    waiting: list[subprocess.Popen[str]] = []

    def strike() -> None:
        drop = "with sa.create_engine(sys.argv[1]).begin() as c: c.exec_driver_sql('DROP TABLE stops')"
        command = [sys.executable, "-c", f"import sqlalchemy as sa, sys\n{drop}", pg_url]
        waiting.append(subprocess.Popen(command, text=True, stderr=subprocess.PIPE))
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while not conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar_one():
                assert time.monotonic() < deadline, "the DROP never queued"
                time.sleep(0.05)

    try:
        with pytest.raises(DatabaseChangedError, match="waiting to replace its tables"):
            build(BuildSettings(db_url=pg_url, out_dir=out, workers=2), StrikeAt("documents-written", strike))
    finally:
        engine.dispose()
    assert waiting[0].wait(timeout=60) == 0, waiting[0].communicate()[1]  # the build let it through
    assert hashes(out / "current") == before and not staging(out)


def test_postgres_fingerprint_moves_with_any_change_of_rows_or_tables(pg_url: str) -> None:
    """The backstop where no snapshot can be exported: updates, deletes and a new import all show."""
    from builder.snapshot.pinning import _postgres_fingerprint

    assert import_cli(FEED, pg_url).returncode == 0
    seen = [_postgres_fingerprint(pg_url)]
    assert _postgres_fingerprint(pg_url) == seen[0]  # reading changes nothing
    engine = sa.create_engine(pg_url)
    for change in (
        "UPDATE stops SET stop_name = 'x' WHERE stop_id = (SELECT min(stop_id) FROM stops)",
        "DELETE FROM stop_times WHERE stop_sequence = 1",
    ):
        with engine.begin() as conn:
            conn.exec_driver_sql(change)
        seen.append(_postgres_fingerprint(pg_url))
    engine.dispose()
    assert import_cli(FEED, pg_url).returncode == 0  # the same feed again: new tables, same rows
    seen.append(_postgres_fingerprint(pg_url))
    assert len({repr(s) for s in seen}) == len(seen)


def test_build_of_postgresql_started_during_an_import_waits_and_publishes_its_feed(
    synthetic: Path, pg_url: str, tmp_path: Path
) -> None:
    """An import under way holds the tables it replaces: a build waits for its commit, then reads it whole."""
    out = tmp_path / "out"
    assert import_cli(FEED, pg_url).returncode == 0
    importing = start_import(synthetic, pg_url)
    engine = sa.create_engine(pg_url)
    held = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE a.application_name = 'test-import' AND l.mode = 'AccessExclusiveLock' AND l.granted"
    )
    try:
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while not conn.exec_driver_sql(held).scalar_one():
                conn.rollback()  # pg_stat_activity is read once per transaction
                assert importing.poll() is None, "the import ended before the build started"
                assert time.monotonic() < deadline, "the import never took the tables"
                time.sleep(0.02)
        built(pg_url, out)
    finally:
        engine.dispose()
    assert importing.wait(timeout=300) == 0, importing.communicate()[1]
    assert_wholly(synthetic, out)
