"""The database walk: what tables and columns a GTFS database has, and sorted streams of its rows.

Works on any database whose tables and columns carry GTFS names, whoever loaded it. Every stream is one
ORDER BY query read row by row (server-side cursors where the driver has them), so memory follows the
largest group the caller keeps, never the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    Numeric,
    Table,
    Time,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import NullType

from builder.drivers import create_engine, parse_url
from builder.errors import DatabaseError, FeedError
from builder.gtfs import REQUIRED_FILES, Kind, column_kind

STREAM_ROWS = 1000
SQLITE_CACHE_KIB = 512


@dataclass(frozen=True)
class KeyRange:
    """Ids from `low` (inclusive) to `high` (exclusive) in byte order; None leaves that end open.

    The build cuts each pass into ranges so two processes share its work evenly."""

    low: str | None = None
    high: str | None = None

    def __contains__(self, id_: str) -> bool:
        """The same test as Source.within, for ids read from documents (UTF-8 keeps code point order)."""
        key = id_.encode()
        return (self.low is None or key >= self.low.encode()) and (
            self.high is None or key < self.high.encode()
        )


EVERYTHING = KeyRange()


def open_engine(url: str, **engine_options: Any) -> Engine:
    """An engine for reading; a SQLite file that does not exist is an error, not a new empty database.
    `engine_options` go to create_engine (a cluster worker caps its pool)."""
    parsed = parse_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and not Path(parsed.database).is_file()
    ):
        raise DatabaseError(
            f"no database at {parsed.database} (import a feed first: "
            f"`transit-snapshot import FEED --db {url}`)"
        )
    engine = create_engine(parsed, **engine_options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _small_page_cache)
    return engine


def _small_page_cache(dbapi_conn: Any, _record: Any) -> None:
    # The passes walk each table once in index order, so SQLite's default 2 MB page cache per connection
    # buys nothing the OS page cache does not: measured on hart_tampa, 512 KB gives the same CPU time
    # and 3 MB less peak memory over the build's two processes.
    dbapi_conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


class Source:
    """A GTFS database opened for reading, its tables reflected once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.metadata = MetaData()
        event.listen(self.metadata, "column_reflect", _raw_temporal)
        try:
            self.metadata.reflect(bind=engine)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot read the database {engine.url!r}: {_reason(exc)}") from exc
        missing = [t for t in REQUIRED_FILES if t not in self.metadata.tables]
        if missing:
            raise FeedError(
                f"the database has no table {', '.join(missing)}: is it a GTFS database? "
                "(load one with `transit-snapshot import FEED`)"
            )
        self.is_postgres = engine.dialect.name == "postgresql"

    def has(self, table: str) -> bool:
        return table in self.metadata.tables

    def table(self, name: str) -> Table:
        return self.metadata.tables[name]

    def columns(self, table: str) -> list[str]:
        # Internal bookkeeping columns some loaders add (node-gtfs: *_timestamp) are not GTFS fields.
        return [c.name for c in self.table(table).columns if not c.name.endswith("_timestamp")]

    def typed_columns(self, table: str) -> frozenset[str]:
        """Columns whose database type already gives Python values of their GTFS kind."""
        out = set()
        for col in self.table(table).columns:
            kind = column_kind(table, col.name)
            numeric = isinstance(col.type, (Integer, Float, Numeric))
            if (
                (kind is Kind.INT and isinstance(col.type, Integer))
                or (kind is Kind.FLOAT and isinstance(col.type, Float))
                or (kind in (Kind.TEXT, Kind.DATE) and not numeric)
            ):
                out.add(col.name)
        return frozenset(out)

    def by_id(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # Order by bytes so SQLite and PostgreSQL walk rows in the same order, whatever collation the
        # database or the loader declared for the column (BINARY is SQLite's default: its indexes serve).
        return column.collate("C" if self.is_postgres else "BINARY")

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn.execution_options(stream_results=True, yield_per=STREAM_ROWS)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"reading the database failed: {_reason(exc)}") from exc

    def rows(self, conn: Connection, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
        # No generator wrapper on the hot path: connect() turns driver errors into DatabaseError.
        return iter(conn.execute(stmt))

    def select_all(self, table: str, *order: str) -> Select[Any]:
        t = self.table(table)
        stmt = select(*(t.c[c] for c in self.columns(table)))
        return stmt.order_by(*(self.by_id(t.c[c]) for c in order if c in t.c))

    def within(self, column: ColumnElement[Any], span: KeyRange) -> list[ColumnElement[bool]]:
        """WHERE clauses keeping `column` inside `span`, compared in the same byte order as ORDER BY."""
        clauses = []
        if span.low is not None:
            clauses.append(self.by_id(column) >= span.low)
        if span.high is not None:
            clauses.append(self.by_id(column) < span.high)
        return clauses

    def weights(self, conn: Connection, table: str, column: str) -> list[tuple[str, int]]:
        """(id, rows) for each value of `column` in byte order: how to cut a pass into even ranges."""
        c = self.table(table).c[column]
        stmt = select(c, func.count()).group_by(c).order_by(self.by_id(c))
        return [(row[0], int(row[1])) for row in conn.execute(stmt)]

    def count(self, conn: Connection, table: str) -> int:
        if not self.has(table):
            return 0
        return int(conn.execute(select(func.count()).select_from(self.table(table))).scalar_one())

    def stop_times_by_route(self, span: KeyRange = EVERYTHING) -> Select[Any]:
        """stop_times with their trip's route, sorted by route, trip, stop_sequence."""
        st, trips = self.table("stop_times"), self.table("trips")
        cols = [st.c[c] for c in self.columns("stop_times")]
        return (
            select(*cols)
            .join_from(st, trips, st.c.trip_id == trips.c.trip_id)
            .where(*self.within(trips.c.route_id, span))
            .order_by(self.by_id(trips.c.route_id), self.by_id(st.c.trip_id), st.c.stop_sequence)
        )

    def stop_times_by_stop(self, columns: Sequence[str], span: KeyRange = EVERYTHING) -> Select[Any]:
        st = self.table("stop_times")
        return (
            select(*(st.c[c] for c in columns))
            .where(*self.within(st.c.stop_id, span))
            .order_by(self.by_id(st.c.stop_id))
        )

    def check_integrity(self, conn: Connection) -> None:
        """What the documents rely on and a foreign database may lack: ids present, unique, resolvable."""
        problems: list[str] = []
        for table, column in (
            ("routes", "route_id"),
            ("stops", "stop_id"),
            ("trips", "trip_id"),
            ("trips", "route_id"),
            ("stop_times", "trip_id"),
            ("stop_times", "stop_id"),
        ):
            problems += self._nulls(conn, table, column)
        for table, column in (("routes", "route_id"), ("stops", "stop_id"), ("trips", "trip_id")):
            problems += self._duplicates(conn, table, column)
        # stop_times orphans are found during the walk itself, where the lookups cost nothing extra.
        problems += self._orphans(conn, "trips", "route_id", "routes", "route_id")
        if problems:
            raise unreliable(problems)

    def _nulls(self, conn: Connection, table: str, column: str) -> list[str]:
        t = self.table(table)
        n = conn.execute(select(func.count()).select_from(t).where(t.c[column].is_(None))).scalar_one()
        return [f"{table}: {n} rows without {column}"] if n else []

    def _duplicates(self, conn: Connection, table: str, column: str) -> list[str]:
        c = self.table(table).c[column]
        stmt = select(c).group_by(c).having(func.count() > 1).limit(5)
        dups = [r[0] for r in conn.execute(stmt)]
        return [f"{table}: duplicate {column} {', '.join(map(repr, dups))}"] if dups else []

    def _orphans(self, conn: Connection, table: str, column: str, parent: str, key: str) -> list[str]:
        child, par = self.table(table), self.table(parent)
        exists = select(text("1")).select_from(par).where(par.c[key] == child.c[column]).exists()
        stmt = select(child.c[column]).where(~exists).distinct().limit(5)
        found = [r[0] for r in conn.execute(stmt)]
        return [f"{table}: {column} {', '.join(map(repr, found))} not in {parent}"] if found else []


def _raw_temporal(_inspector: Any, _table: Table, column: dict[str, Any]) -> None:
    """Read DATE/TIME columns as the values stored. node-gtfs declares `date` (holding 20240131) and
    `time` (holding `25:10:00`) columns in SQLite, where SQLAlchemy would parse them as ISO strings."""
    if isinstance(column["type"], (Date, Time, DateTime)):
        column["type"] = NullType()


def unreliable(problems: list[str]) -> FeedError:
    """The one refusal for a database the documents cannot rely on, whichever check found it."""
    return FeedError("the database breaks rules the snapshot relies on; nothing was published:", problems)


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]
