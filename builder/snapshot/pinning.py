"""Pin the database state a build reads, so that every process and task of one build reads the same one.

Cron runs `import` and `build` on schedules that can overlap, and the build's helpers open the database
afresh for each task. Without a pin they would read whatever the database is by then, and publish a mix.

* PostgreSQL: the build's own transaction (REPEATABLE READ) locks the GTFS tables in ACCESS SHARE mode
  and exports its snapshot; every other transaction of the build, in this process and in the forked
  helpers, imports it (`SET TRANSACTION SNAPSHOT`), as `pg_dump -j` does. Rows others commit meanwhile
  stay invisible; the lock is what keeps a DROP or TRUNCATE (which MVCC does not hide) from committing
  under the build: an import waits for the build, and a build waits for an import under way.
* SQLite: the file is hard-linked, when the build starts, into a scratch folder of the output folder (the
  next build removes it if this one is killed), and every engine opens that link. `import` renames a new
  file over the path, so the link keeps naming the inode the build started from. Not `/proc/self/fd/N`:
  SQLite resolves symbolic links before opening, and that one names the path, or `… (deleted)`.
* Anything else (another filesystem, a WAL database whose -wal file belongs to the path, other
  databases, PostgreSQL without an exported snapshot): the build notes a fingerprint of the state when
  it starts and checks it once the last document is read; a change raises DatabaseChangedError.

A pinned SQLite file is fingerprinted too: another program may write it in place, which no link hides.

A database of several feeds (builder.feeds) is pinned whole: on SQLite every feed's file is linked (the
registry is read once, when the build starts: an import adding a feed meanwhile reaches the next build),
on PostgreSQL the one exported snapshot covers every feed's schema, whose tables are all locked.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import URL, Connection, event, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from builder import gtfs
from builder.database import sqlite_file
from builder.drivers import shown
from builder.errors import DatabaseChangedError, DatabaseError
from builder.feeds import REGISTRY_TABLE, FeedRecord, feeds_folder, read_registry, schema_url, sqlite_registry
from builder.snapshot.source import Source, open_engine

SQLITE_HEADER = 100
WAL_FORMAT = 2  # header bytes 18 and 19: 1 for a rollback journal, 2 for WAL
PIN_ATTEMPTS = 5  # PostgreSQL: tables dropped or created while the build took its locks; try again
LOCK_NOT_AVAILABLE = "55P03"
SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")
CHANGED = (
    "the database changed during the build ({}); nothing was published: the next run publishes the new state"
)
Fingerprint = Callable[[], Any]


@dataclass(frozen=True)
class PinnedDatabase:
    """What every task of one build opens: plain strings, so it crosses the fork to the helpers, each of
    which makes its own engine (engines and connections do not cross processes)."""

    url: str  # for a pinned SQLite file, the URL of its link
    how: str  # "snapshot", "file" or "fingerprint": said in messages and tests
    snapshot: str | None = None  # PostgreSQL: the snapshot every transaction imports
    tables: tuple[str, ...] = ()  # PostgreSQL: the tables the build's own transaction keeps locked

    def source(self, **engine_options: Any) -> Source:
        engine = open_engine(self.url, **engine_options)
        if self.snapshot is not None:
            event.listen(engine, "begin", partial(_import_snapshot, self.snapshot, self.tables))
        return Source(engine)


@dataclass(frozen=True)
class PinnedFeed:
    """One feed of the build: the database's own unnamed feed (record None: today's layout), or a feed
    imported with --feed, whose documents go under its folder."""

    record: FeedRecord | None
    database: PinnedDatabase

    @property
    def prefix(self) -> str:
        return "" if self.record is None else self.record.prefix


class Pin:
    """The pinned database, its feeds, and the check that its state is still the one every task read."""

    def __init__(
        self,
        database: PinnedDatabase,
        fingerprint: Fingerprint,
        feeds: tuple[PinnedFeed, ...] | None = None,
    ) -> None:
        self.database = database  # a database of several feeds: its main database, the registry's
        self.feeds = (PinnedFeed(None, database),) if feeds is None else feeds
        self._fingerprint = fingerprint
        self._at_start = fingerprint()

    @property
    def several(self) -> bool:
        """Feeds imported with --feed: each under feeds/<key>/, and the root's own documents."""
        return any(f.record is not None for f in self.feeds)

    def ensure_unchanged(self) -> None:
        """Called once the last document is read: what changes later cannot reach this release."""
        if self._fingerprint() != self._at_start:
            how = {"file": "the file was written in place", "snapshot": "the build's session ended"}
            raise DatabaseChangedError(
                CHANGED.format(how.get(self.database.how, "it was replaced or written"))
            )


@contextmanager
def pin_database(url: str, scratch: Callable[[], Path]) -> Iterator[Pin]:
    """Pin `url`'s current state for the block; `scratch` makes a folder (on the output's filesystem)
    that the pin may use and removes at its end, and that the next build removes if this one is killed."""
    with ExitStack() as stack:
        path = _sqlite_path(url)
        if path is not None and path.is_file():
            records = sqlite_registry(path)
            yield (
                _pin_sqlite_feeds(url, path, records, scratch, stack)
                if records
                else _pin_sqlite(url, path, scratch, stack)
            )
        elif _is_postgres(url):
            yield _pin_postgres(url, stack)
        else:
            yield Pin(PinnedDatabase(url, "fingerprint"), partial(_row_counts, url))


def _sqlite_path(url: str) -> Path | None:
    try:
        return sqlite_file(url)
    except SQLAlchemyError:
        return None  # a bad URL: open_engine says so in its own words


def _is_postgres(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except SQLAlchemyError:
        return False


# --- SQLite --------------------------------------------------------------------------------------------


def _pin_sqlite(url: str, path: Path, scratch: Callable[[], Path], stack: ExitStack) -> Pin:
    link = _link(path, scratch, stack)
    read = link or path
    try:
        watcher = sqlite3.connect(f"file:{quote(str(read))}?mode=rw", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the database {path}: {exc}") from exc
    stack.callback(watcher.close)
    if link is None:
        database = PinnedDatabase(url, "fingerprint")
    else:  # rendered, so that `?`, `#` and `%` in the output folder's path are escaped
        database = PinnedDatabase(URL.create("sqlite", database=str(link)).render_as_string(), "file")
    # The watcher stays open until the end: PRAGMA data_version moves with every commit made by another
    # connection, WAL ones included, and no task closing is ever the last connection, which in WAL mode
    # would checkpoint and delete the -wal file, changing the fingerprint by itself.
    return Pin(database, partial(_file_fingerprint, read, watcher, path))


def _pin_sqlite_feeds(
    url: str, main: Path, records: list[FeedRecord], scratch: Callable[[], Path], stack: ExitStack
) -> Pin:
    """Every feed's file pinned as a database of its own; the state is every feed's state."""
    feeds, fingerprints = [], []
    for record in records:
        path = feeds_folder(main) / record.location
        if not path.is_file():
            raise DatabaseError(f"feed {record.feed_id} of {main} has no database file {path}")
        pin = _pin_sqlite(URL.create("sqlite", database=str(path)).render_as_string(), path, scratch, stack)
        feeds.append(PinnedFeed(record, pin.database))
        fingerprints.append(pin._fingerprint)
    hows = {f.database.how for f in feeds}
    main_database = PinnedDatabase(url, hows.pop() if len(hows) == 1 else "fingerprint")
    return Pin(main_database, lambda: [f() for f in fingerprints], tuple(feeds))


def _link(path: Path, scratch: Callable[[], Path], stack: ExitStack) -> Path | None:
    """A hard link to the file the path names now, or None when the build must read the path itself:
    on another filesystem or where links are refused; in WAL mode, whose -wal and -shm files are named
    after the path; with a journal beside the path, which only a connection to the path would play back.

    Opened through the link, SQLite locks the same inode as every other connection to the file, so a
    program writing it in place still waits for the build's reads (and the fingerprint notices it). The
    link is not opened `immutable=1`: that would skip those locks and could read a page mid-write."""
    try:
        folder = scratch()
    except OSError:
        return None
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    link = folder / path.name
    try:
        os.link(path, link)  # one system call: the inode the path names at this instant
        with open(link, "rb") as file:  # no connection to it is open in this process yet (POSIX locks)
            header = file.read(SQLITE_HEADER)
    except OSError:
        return None
    journal = Path(f"{path}-journal")
    wal = len(header) == SQLITE_HEADER and header[18] == WAL_FORMAT
    if wal or (journal.exists() and journal.stat().st_size > 0):
        link.unlink()
        return None
    return link


def _file_fingerprint(path: Path, watcher: sqlite3.Connection, shown: Path) -> tuple[Any, ...]:
    try:  # first: the watcher's first read of a WAL database creates its -wal file
        versions = [watcher.execute(f"PRAGMA {p}").fetchone()[0] for p in ("data_version", "schema_version")]
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the database {shown}: {exc}") from exc
    try:
        st = os.stat(path)
        wal = Path(f"{path}-wal")
        wal_state = (wal.stat().st_size, wal.stat().st_mtime_ns) if wal.exists() else None
    except FileNotFoundError:
        return ("gone",)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, wal_state, *versions


# --- PostgreSQL ----------------------------------------------------------------------------------------


def _pin_postgres(url: str, stack: ExitStack) -> Pin:
    engine = open_engine(url)
    stack.callback(engine.dispose)
    try:
        conn = stack.enter_context(engine.connect())
        several = _has_registry(conn)
        snapshot, tables = _export_snapshot(conn, _feed_tables if several else _gtfs_tables)
        # read in the exported snapshot: the feeds whose tables it locked
        records = read_registry(conn) if several else []
    except DBAPIError:  # no snapshot to export here (a server that lacks the function): the backstop
        return _pin_postgres_fingerprints(url)
    if not records:
        # Held to the end: the locks keep the tables, the open transaction keeps the snapshot importable.
        return Pin(PinnedDatabase(url, "snapshot", snapshot, tables), partial(_alive, conn))
    feeds = tuple(
        PinnedFeed(
            r,
            PinnedDatabase(
                schema_url(url, r.location),
                "snapshot",
                snapshot,
                tuple(t for t in tables if t.startswith(r.location + ".")),
            ),
        )
        for r in records
    )
    return Pin(PinnedDatabase(url, "snapshot", snapshot, tables), partial(_alive, conn), feeds)


def _pin_postgres_fingerprints(url: str) -> Pin:
    database = PinnedDatabase(url, "fingerprint")
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            records = read_registry(conn)
    except SQLAlchemyError as exc:  # no server there, or no access: one line, exit status 4
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseError(f"cannot read the database {shown(url)}: {reason}") from exc
    finally:
        engine.dispose()
    if not records:
        return Pin(database, partial(_postgres_fingerprint, url))
    feeds = tuple(PinnedFeed(r, PinnedDatabase(schema_url(url, r.location), "fingerprint")) for r in records)
    return Pin(database, lambda: [_postgres_fingerprint(f.database.url) for f in feeds], feeds)


def _has_registry(conn: Connection) -> bool:
    found = _sql(conn, f"SELECT to_regclass('{REGISTRY_TABLE}') IS NOT NULL").scalar_one()
    conn.commit()
    return bool(found)


def _feed_tables(conn: Connection) -> tuple[str, ...]:
    """The GTFS tables of every registered feed's schema, as `schema.table`."""
    rows = _sql(
        conn,
        f"SELECT t.schemaname, t.tablename FROM pg_tables t JOIN {REGISTRY_TABLE} r "
        "ON t.schemaname = r.location",
    )
    return tuple(sorted(f"{schema}.{name}" for schema, name in rows if name in gtfs.TABLES))


def _export_snapshot(
    conn: Connection, listing: Callable[[Connection], tuple[str, ...]]
) -> tuple[str, tuple[str, ...]]:
    """Lock the GTFS tables `listing` names, then export the snapshot (taken by its first query, after
    the locks)."""
    for _ in range(PIN_ATTEMPTS):
        tables = listing(conn)
        conn.commit()
        _begin_repeatable_read(conn)
        try:
            if tables:
                _sql(conn, f"LOCK TABLE {_quoted(conn, tables)} IN ACCESS SHARE MODE")
            snapshot = str(_sql(conn, "SELECT pg_export_snapshot()").scalar_one())
        except DBAPIError as exc:
            conn.rollback()
            if sqlstate(exc) == "42P01":  # undefined_table: dropped as we locked it
                continue
            raise
        if listing(conn) == tables and SNAPSHOT_ID.fullmatch(snapshot):
            return snapshot, tables
        conn.rollback()  # a GTFS table was created while we locked the others
    raise DatabaseChangedError(CHANGED.format("its GTFS tables kept being replaced as the build started"))


def _import_snapshot(snapshot: str, tables: tuple[str, ...], conn: Connection) -> None:
    """Every transaction of the build reads the build's snapshot (before its first query, as required).

    It locks the tables too, NOWAIT: the build's own transaction holds them, so a session already
    waiting for an exclusive lock (a DROP) would wait for the build, and this task behind it, forever."""
    _begin_repeatable_read(conn)
    _sql(conn, f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    if not tables:
        return
    try:
        _sql(conn, f"LOCK TABLE {_quoted(conn, tables)} IN ACCESS SHARE MODE NOWAIT")
    except DBAPIError as exc:
        if sqlstate(exc) != LOCK_NOT_AVAILABLE:
            raise
        raise DatabaseChangedError(
            CHANGED.format("another session is waiting to replace its tables")
        ) from exc


def sqlstate(exc: DBAPIError) -> str | None:
    """The PostgreSQL error code, from psycopg 3 (`sqlstate`) or psycopg2 (`pgcode`)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return str(code) if code else None


def _begin_repeatable_read(conn: Connection) -> None:
    _sql(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _sql(conn: Connection, statement: str) -> Any:
    # Never through a server-side cursor, whatever the connection streams: these are not SELECTs.
    return conn.exec_driver_sql(statement, execution_options={"stream_results": False, "yield_per": 0})


def _gtfs_tables(conn: Connection) -> tuple[str, ...]:
    rows = _sql(conn, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return tuple(sorted(name for (name,) in rows if name in gtfs.TABLES))


def _quoted(conn: Connection, tables: tuple[str, ...]) -> str:
    """Table names, or `schema.table` for a feed's (neither part holds a dot), quoted."""
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(".".join(quote(part) for part in t.split(".")) for t in tables)


def _alive(conn: Connection) -> bool:
    """The build's transaction still holds its locks (a server may end an idle transaction)."""
    try:
        _sql(conn, "SELECT 1")
    except DBAPIError:
        return False
    return True


def _postgres_fingerprint(url: str) -> list[tuple[Any, ...]]:
    """Each GTFS table's identity (a new table, or a TRUNCATE, gives a new relfilenode), row count and
    sum of row versions' xmin (any insert, update or delete moves it): one scan of each table."""
    return _each_table(
        url,
        lambda conn, name: tuple(
            _sql(
                conn,
                (
                    f"SELECT '{name}'::regclass::oid, pg_relation_filenode('{name}'), count(*), "
                    f"coalesce(sum(xmin::text::bigint), 0) FROM {name}"
                ),
            ).one()
        ),
    )


def _row_counts(url: str) -> list[tuple[Any, ...]]:
    """Any other database: each GTFS table's row count."""
    return _each_table(
        url, lambda conn, name: (conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one(),)
    )


def _each_table(url: str, measure: Callable[[Connection, str], tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    source = Source(open_engine(url))
    try:
        with source.engine.connect() as conn:
            prepare = conn.dialect.identifier_preparer
            return [
                (name, *measure(conn, prepare.quote(name)))
                for name in sorted(source.metadata.tables)
                if name in gtfs.TABLES
            ]
    except SQLAlchemyError as exc:
        raise DatabaseError(f"reading the database failed: {exc}") from exc
    finally:
        source.engine.dispose()
