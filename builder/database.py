"""Engines, tables and indexes for a GTFS database: SQLite, PostgreSQL (or whatever SQLAlchemy reaches).

Tables are named as the GTFS files and columns as their fields, so databases loaded by other tools
(node-gtfs, gtfs-via-postgres) read the same.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from builder import gtfs
from builder.drivers import create_engine, shown
from builder.errors import DatabaseError

# A 64 MiB page cache, memory-mapped reads and in-memory temporary b-trees: index builds and the
# builder's scans over a large stop_times then stay off temporary files.
_SQLITE_PRAGMAS = ("foreign_keys=OFF", "cache_size=-65536", "mmap_size=268435456", "temp_store=MEMORY")
# Only for a file that is thrown away unless the whole import succeeds: a crash cannot hurt it. The
# journal stays in memory rather than off, so that a failed statement still rolls back (the unique key
# indexes are tried that way); in a new file nearly no page has an old content to keep.
# The import's memory must not grow with the feed: index sorts and the checks' temporary b-trees go to
# temporary files (in memory they held the whole stop_times), pages are read rather than memory-mapped
# (mapped pages count in the resident set), and a small page cache does: rows are appended in order,
# and the sorter spills runs of the cache's size. Measured on 2.4M stop times: no slower, 406 -> 80 MB.
_BULK_PRAGMAS = (
    "journal_mode=MEMORY",
    "synchronous=OFF",
    "locking_mode=EXCLUSIVE",
    "temp_store=FILE",
    "mmap_size=0",
    "cache_size=-8192",
)
_BATCH_ROWS = 50_000

# What the builder looks up, plus each table's key: the import's duplicate checks and reference
# anti-joins then walk an index instead of sorting millions of rows.
BUILDER_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("stop_times", ("trip_id", "stop_sequence")),
    ("stop_times", ("stop_id",)),
    ("trips", ("route_id",)),
    ("calendar_dates", ("service_id",)),
    ("frequencies", ("trip_id",)),
    ("stops", ("parent_station",)),
)
_KEY_INDEXES = tuple((t.name, t.key) for t in gtfs.TABLES.values() if t.key)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") or database.startswith("file:"):
        return None  # URI filenames may name memory databases or need their query; treat as a server
    return Path(database)


def create_engine_for(url: str | URL, *, bulk_load: bool = False) -> sa.Engine:
    """An engine for `url`, checked by opening it once. SQLite gets pragmas tuned for large reads and
    writes, and real transactions (sqlite3 otherwise commits before DDL, so a failed import could not
    roll back its DROP TABLEs). `bulk_load` gives up durability for speed (no fsync, journal in memory,
    exclusive lock): only for a file that is thrown away if anything fails.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, _SQLITE_PRAGMAS + (_BULK_PRAGMAS if bulk_load else ()))
    try:
        with engine.connect() as conn:
            # Reading the schema is what fails on a file that is not a database.
            conn.exec_driver_sql("PRAGMA schema_version" if engine.dialect.name == "sqlite" else "SELECT 1")
    except SQLAlchemyError as err:
        engine.dispose()
        raise DatabaseError(f"cannot open database {shown(url)}: {_reason(err)}") from err
    return engine


def _reason(err: BaseException) -> str:
    """The driver's message on one line (libpq adds hints on lines of their own)."""
    orig = getattr(err, "orig", None)
    return " ".join(
        line.strip() for line in str(orig if orig is not None else err).splitlines() if line.strip()
    )


def _tune_sqlite(engine: sa.Engine, pragmas: tuple[str, ...]) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's documented recipe: we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute("PRAGMA " + pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def _column_type(kind: gtfs.Kind) -> sa.types.TypeEngine[Any]:
    if kind is gtfs.Kind.INT:
        return sa.Integer().with_variant(sa.BigInteger(), "postgresql")  # 32 bits are not always enough
    if kind is gtfs.Kind.FLOAT:
        return sa.Float()
    if kind in (gtfs.Kind.TIME, gtfs.Kind.DATE):
        return sa.String(8)  # HH:MM:SS zero-padded, or YYYYMMDD: both sort as text
    return sa.Text()


def gtfs_table(metadata: sa.MetaData, name: str, columns: list[str]) -> sa.Table:
    """The table of a GTFS file with the columns its header has; unknown columns are text."""
    return sa.Table(name, metadata, *(sa.Column(c, _column_type(gtfs.column_kind(name, c))) for c in columns))


def create_indexes(conn: sa.Connection, tables: Mapping[str, sa.Table]) -> set[str]:
    """Each table's key index, unique when its rows allow, then the builder's other indexes.

    Returns the tables whose key is not unique. Trying a unique index costs no more than building a
    plain one, and spares valid feeds (nearly all) a GROUP BY over their largest table to find duplicates.
    """
    repeated: set[str] = set()
    done: set[tuple[str, tuple[str, ...]]] = set()
    for name, columns in _KEY_INDEXES + BUILDER_INDEXES:
        table = tables.get(name)
        if table is None or (name, columns) in done or not all(c in table.c for c in columns):
            continue
        done.add((name, columns))
        index_name = f"ix_{name}_{'_'.join(columns)}"
        index_columns = [table.c[c] for c in columns]
        if (name, columns) in _KEY_INDEXES:
            try:
                with _statement_alone(conn):
                    sa.Index(index_name, *index_columns, unique=True).create(conn)
                continue
            except IntegrityError:
                repeated.add(name)
        sa.Index(index_name, *index_columns).create(conn)
    return repeated


def _statement_alone(conn: sa.Connection) -> AbstractContextManager[object]:
    """Where a failed statement must not take the transaction with it. SQLite rolls back just the
    statement by itself; a savepoint there would stay open after ROLLBACK TO, and make SQLite keep a copy
    of every page the rest of the import changes (memory growing with the feed). PostgreSQL aborts the
    whole transaction on an error, unless a savepoint catches it."""
    return nullcontext() if conn.dialect.name == "sqlite" else conn.begin_nested()


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[object]]) -> int:
    """Bulk-load rows (values in the table's column order); returns how many."""
    # The fast paths bypass SQLAlchemy, so its error wrapping too.
    driver_error: type[Exception] = getattr(conn.dialect.loaded_dbapi, "Error", SQLAlchemyError)
    try:
        with _collector_paused():
            if conn.dialect.name == "postgresql":
                return _copy_rows(conn, table, rows)
            if conn.dialect.name == "sqlite":
                return _executemany_rows(conn, table, rows)
            return _insert_rows(conn, table, rows)
    except driver_error as err:
        raise DatabaseError(f"cannot write table {table.name}: {_reason(err)}") from err


def _executemany_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[object]]) -> int:
    marks = ", ".join("?" * len(table.c))
    statement = f"INSERT INTO {_quoted_table(conn, table)} VALUES ({marks})"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    total = 0
    try:
        for batch in _batches(rows):
            cursor.executemany(statement, batch)
            total += len(batch)
    finally:
        cursor.close()
    return total


def _insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[object]]) -> int:
    names = [c.name for c in table.c]
    total = 0
    for batch in _batches(rows):
        conn.execute(table.insert(), [dict(zip(names, row)) for row in batch])
        total += len(batch)
    return total


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: rows are acyclic, yet every batch of them held alive makes it walk
    all live row lists again and again (a fifth of the load time of a large stop_times)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _batches(rows: Iterable[Sequence[object]]) -> Iterator[list[Sequence[object]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH_ROWS)):
        yield batch


def _copy_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[object]]) -> int:
    # Strings are quoted, so a value like `\.` cannot end the data; FORCE_NULL turns the empty field
    # the csv module writes for None back into NULL (the import never keeps empty strings).
    columns = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.c)
    statement = (
        f"COPY {_quoted_table(conn, table)} ({columns}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({columns}))"
    )
    # One COPY per batch, each batch read whole before its COPY starts: a row that fails to read (a
    # csv.Error, a UnicodeDecodeError the caller retries in another encoding) then never aborts a COPY,
    # which would abort the import's whole transaction.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if hasattr(cursor, "copy"):  # psycopg 3
            return _csv_batches(rows, lambda buffer: _copy_psycopg(cursor, statement, buffer.getvalue()))
        if hasattr(cursor, "copy_expert"):  # psycopg2
            return _csv_batches(rows, lambda buffer: cursor.copy_expert(statement, buffer))
    finally:
        cursor.close()
    return _insert_rows(conn, table, rows)  # another driver (pg8000...): plain INSERTs


def _copy_psycopg(cursor: Any, statement: str, data: str) -> None:
    with cursor.copy(statement) as copy:
        copy.write(data)


def _csv_batches(rows: Iterable[Sequence[object]], send: Callable[[io.StringIO], object]) -> int:
    """Rows as CSV text for COPY, handed to `send` one batch at a time; returns how many rows."""
    total = 0
    for batch in _batches(rows):
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC).writerows(batch)
        buffer.seek(0)
        send(buffer)
        total += len(batch)
    return total


def _quoted_table(conn: sa.Connection, table: sa.Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)
