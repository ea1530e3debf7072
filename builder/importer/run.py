"""Import a GTFS feed (zip or folder) into a database, all or nothing.

Every file is streamed into its table with values converted by the GTFS reference; then duplicate keys
and references are checked in SQL. Problems are collected (up to a limit) and reported together in one
FeedError, or, when asked, the invalid rows are dropped and counted. Either way the previous database
content stays as it was unless the whole import succeeds:

* a SQLite file is built next to the target as a new file and moved over it only when complete;
* any other database (PostgreSQL, or in-memory SQLite, which lives only as long as its engine) is
  loaded in one transaction that replaces its GTFS tables; PostgreSQL is fed with COPY.

A row in `_transit_snapshot_import` tells later builds which feed (name, sha256) was loaded, and when.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from builder import gtfs
from builder.database import create_engine_for, create_indexes, sqlite_file
from builder.drivers import shown
from builder.errors import BuildError, DatabaseError, FeedError
from builder.feeds import checked_id
from builder.importer import named
from builder.importer.checks import check_feed
from builder.importer.feedfiles import Feed, open_feed
from builder.importer.limits import DEFAULT_LIMITS, ImportLimits, LimitError
from builder.importer.load import FileLoad, load_file, rescan
from builder.importer.values import Issues, Value, plural
from builder.snapshot.pinning import LOCK_NOT_AVAILABLE, sqlstate

IMPORT_TABLE = "_transit_snapshot_import"
_SQLITE_MAGIC = b"SQLite format 3\0"
_BUILD_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ImportOptions:
    skip_invalid: bool = False  # drop invalid rows (and count them) instead of refusing the feed
    max_problems: int = 50  # problem lines listed in a refusal; all are counted
    limits: ImportLimits = DEFAULT_LIMITS  # the most a file may hold: past it the feed is refused at once

    def __post_init__(self) -> None:
        if self.max_problems < 1:
            raise ValueError("max_problems must be at least 1")


@dataclass(frozen=True)
class ImportReport:
    source: Path
    rows: dict[str, int]  # table -> rows loaded
    warnings: list[str] = field(default_factory=list)
    # kind of problem -> rows dropped: invalid rows when skip_invalid; exact repeats of a row always
    dropped: dict[str, int] = field(default_factory=dict)
    # "table.column" -> rows kept whose soft reference (parent_station, shape_id...) points at nothing
    dangling: dict[str, int] = field(default_factory=dict)


def import_feed(
    source: Path,
    *,
    db_url: str,
    skip_invalid: bool = False,
    max_problems: int = 50,
    limits: ImportLimits = DEFAULT_LIMITS,
    feed_id: str | None = None,
) -> ImportReport:
    """Import the feed at `source` into the database at `db_url`, replacing its GTFS tables; with
    `feed_id`, replacing that feed's alone among the feeds the database holds (builder.feeds).

    Raises FeedError listing the feed's problems (LimitError when a file passes `limits`), or
    DatabaseError; the database is then unchanged.
    """
    source = Path(source)
    options = ImportOptions(skip_invalid, max_problems, limits)
    if feed_id is not None:
        checked_id(feed_id)
    try:
        target = sqlite_file(db_url)
    except ArgumentError as err:
        raise DatabaseError(f"bad database URL {db_url!r}: {err}") from err
    if target is None:
        engine = create_engine_for(db_url)
        try:
            return import_into(engine, source, options, feed_id=feed_id)
        finally:
            engine.dispose()
    target = target.resolve()
    _refuse_foreign_file(target)
    with _plain_errors(source), open_feed(source, options.limits) as feed:
        if feed_id is None:
            named.refuse_unnamed_sqlite(target)
            return _import_to_sqlite_file(feed, target, options)
        report = _import_to_sqlite_file(feed, named.sqlite_feed_file(target, feed_id), options)
        named.register_sqlite(target, feed_id)
        return report


def import_into(
    engine: sa.Engine, source: Path, options: ImportOptions = ImportOptions(), *, feed_id: str | None = None
) -> ImportReport:
    """Replace the GTFS tables of `engine`'s database (with `feed_id`, of that feed's schema) with the
    feed's, in one transaction that commits only if the whole feed is accepted."""
    source = Path(source)
    with _plain_errors(source), open_feed(source, options.limits) as feed, engine.begin() as conn:
        if feed_id is None:
            named.refuse_unnamed(conn, shown(engine.url))
        else:
            record, main = named.enter_schema(conn, feed_id)
        _wait_for_builds(conn)
        _drop_gtfs_tables(conn)
        report = _load_and_check(conn, feed, options)
        if feed_id is not None:
            named.register_in(conn, record, main)
        return report


@contextmanager
def _plain_errors(source: Path) -> Iterator[None]:
    """Errors the feed has not already explained become DatabaseError: the message is what users read."""
    try:
        yield
    except LimitError as err:
        raise LimitError(f"import of {source} refused: {err}") from err
    except BuildError:
        raise
    except SQLAlchemyError as err:
        raise DatabaseError(f"import of {source} failed in the database: {err}") from err
    except OSError as err:
        raise DatabaseError(f"import of {source} failed writing the database: {err}") from err


def _wait_for_builds(conn: sa.Connection) -> None:
    """PostgreSQL: take the GTFS tables once no build reads them, without queueing for them.

    A build holds ACCESS SHARE locks on them for its whole run (builder.snapshot.pinning). A DROP waiting in the
    lock queue would put every later lock request of that build behind it, and the build would wait for
    itself; so the import asks with NOWAIT, and asks again until the build is done."""
    if conn.dialect.name != "postgresql":
        return
    present = [t for t in [*gtfs.TABLES, IMPORT_TABLE] if sa.inspect(conn).has_table(t)]
    if not present:
        return
    names = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in present)
    while True:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
            return
        except sa.exc.OperationalError as err:
            if sqlstate(err) != LOCK_NOT_AVAILABLE:
                raise
            time.sleep(_BUILD_POLL_SECONDS)


def _drop_gtfs_tables(conn: sa.Connection) -> None:
    # Every table the reference knows, not only this feed's: a table left from an earlier feed
    # (frequencies, say) would otherwise pass for part of this one.
    for name in [*gtfs.TABLES, IMPORT_TABLE]:
        sa.Table(name, sa.MetaData()).drop(conn, checkfirst=True)


def _import_to_sqlite_file(feed: Feed, target: Path, options: ImportOptions) -> ImportReport:
    target = target.resolve()  # replace the file a symlink points to, not the symlink
    folder = target.parent
    if not folder.is_dir():
        raise DatabaseError(f"cannot create {target}: folder {folder} does not exist")
    _refuse_foreign_file(target)
    temporary = _new_file_beside(target)
    try:
        engine = create_engine_for(sa.URL.create("sqlite", database=str(temporary)), bulk_load=True)
        try:
            with engine.begin() as conn:
                report = _load_and_check(conn, feed, options)
        finally:
            engine.dispose()
        _fsync(temporary)
        for suffix in ("-journal", "-wal", "-shm"):
            # A hot journal left beside the old file would be played back into the new one.
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
        _fsync(folder)
        return report
    finally:
        temporary.unlink(missing_ok=True)


def _new_file_beside(target: Path) -> Path:
    """An empty file in the target's folder (so that moving it over the target is one rename), with the
    target's permissions, or the umask's for a new database: not mkstemp's owner-only ones."""
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = None
    while True:
        path = target.with_name(f".{target.name}.{secrets.token_hex(6)}.importing")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        if mode is not None:
            os.chmod(path, mode)
        return path


def _refuse_foreign_file(target: Path) -> None:
    try:
        with open(target, "rb") as existing:
            head = existing.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as err:
        raise DatabaseError(f"cannot read {target}: {err}") from err
    if head and head != _SQLITE_MAGIC:
        raise DatabaseError(f"{target} is not a SQLite database; not replacing it")


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _load_and_check(conn: sa.Connection, feed: Feed, options: ImportOptions) -> ImportReport:
    fatal, warnings = _file_problems(feed)
    metadata = sa.MetaData()
    loads = [
        load_file(conn, feed, metadata, name, options.max_problems)
        for name, table in gtfs.TABLES.items()
        if table.file_name in feed.members
    ]
    for load in loads:
        fatal += load.fatal
        warnings += load.warnings
    tables = {load.table.name: load.table for load in loads if load.table is not None}
    if not any(name in tables for name in gtfs.SERVICE_FILES):
        fatal.append(
            f"{', '.join(f'{n}.txt' for n in gtfs.SERVICE_FILES)}: the feed needs at least one of them"
        )
    repeated_keys = create_indexes(conn, tables)
    issues = [load.issues for load in loads if load.issues.problems]
    room = options.max_problems - len(fatal) - sum(len(i.lines) for i in issues)
    by_name = {load.table.name: load for load in loads if load.table is not None}
    checks = check_feed(
        conn,
        tables,
        partial(_rescan, feed, by_name),
        repeated_keys=repeated_keys,
        drop_invalid=options.skip_invalid,
        room=max(room, 0),
    )
    warnings += checks.warnings
    dropped = checks.dropped
    if options.skip_invalid:
        warnings += [_dropped_warning(i) for i in issues]
        dropped += sum((i.rows for i in issues), Counter[str]())
        issues = []
    else:
        issues += checks.issues
    if fatal or issues:
        raise _refusal(feed, fatal, issues, options.max_problems)
    rows = _row_counts(conn, tables)
    _record_import(conn, metadata, feed, rows, dict(dropped))
    return ImportReport(feed.source, rows, warnings, dict(dropped), dict(sorted(checks.dangling.items())))


def _rescan(feed: Feed, loads: Mapping[str, FileLoad], name: str) -> Iterator[tuple[int, list[Value]]]:
    return rescan(feed, loads[name])


def _file_problems(feed: Feed) -> tuple[list[str], list[str]]:
    known = {t.file_name for t in gtfs.TABLES.values()}
    fatal = [
        f"{n}.txt: required file is missing" for n in gtfs.REQUIRED_FILES if f"{n}.txt" not in feed.members
    ]
    warnings = [*feed.warnings]
    warnings += [f"{n}: not a GTFS file; skipped" for n in sorted(feed.members) if n not in known]
    return fatal, warnings


def _dropped_warning(issues: Issues) -> str:
    rows = sum(issues.rows.values())
    first = f" (first: {issues.lines[0]})" if issues.lines else ""
    return f"{issues.file_name}: dropped {plural(rows, 'row')} with invalid values{first}"


def _refusal(feed: Feed, fatal: list[str], issues: list[Issues], limit: int) -> FeedError:
    total = len(fatal) + sum(i.problems for i in issues)
    lines = [*fatal, *(line for i in issues for line in i.lines)][:limit]
    summary = f"import of {feed.source} refused: {plural(total, 'problem')}"
    if total > len(lines):
        summary += f" (the first {len(lines)} listed)"
    return FeedError(summary, lines)


def _row_counts(conn: sa.Connection, tables: Mapping[str, sa.Table]) -> dict[str, int]:
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for name, table in tables.items()
    }


def _record_import(
    conn: sa.Connection, metadata: sa.MetaData, feed: Feed, rows: dict[str, int], dropped: dict[str, int]
) -> None:
    """One row saying what was loaded, so a later build can tell which feed it is building from."""
    table = sa.Table(
        IMPORT_TABLE,
        metadata,
        sa.Column("source", sa.Text),
        sa.Column("sha256", sa.Text),
        sa.Column("imported_at", sa.Text),
        sa.Column("row_counts", sa.Text),
        sa.Column("dropped", sa.Text),
    )
    table.create(conn)
    conn.execute(
        table.insert().values(
            source=feed.source.name,
            sha256=feed.sha256(),
            imported_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            row_counts=json.dumps(rows, sort_keys=True),
            dropped=json.dumps(dropped, sort_keys=True),
        )
    )
