"""Where a feed imported with `import --feed ID` goes (builder.feeds): its own schema or file.

The import itself (run.py) is the same for every feed; this module only chooses the place its tables go
and keeps the two kinds of database apart: a feed without an id among named feeds would be built as
none of them, so mixing them is refused before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from builder import gtfs
from builder.database import create_engine_for
from builder.errors import DatabaseError
from builder.feeds import (
    FeedRecord,
    feeds_folder,
    file_of,
    has_registry,
    new_record,
    read_registry,
    register,
    schema_of,
)


def holds_unnamed_feed(conn: sa.Connection, schema: str | None = None) -> bool:
    inspector = sa.inspect(conn)
    return any(inspector.has_table(t, schema=schema) for t in gtfs.REQUIRED_FILES)


def refuse_unnamed(conn: sa.Connection, shown: str) -> None:
    """Importing without --feed into a database of named feeds."""
    if has_registry(conn):
        ids = ", ".join(r.feed_id for r in read_registry(conn)) or "none left"
        raise DatabaseError(
            f"{shown} holds feeds imported with --feed ({ids}): import this feed with --feed ID too"
        )


def _refuse_named(shown: str) -> DatabaseError:
    return DatabaseError(
        f"{shown} holds a feed imported without --feed: import it again with --feed ID into a new "
        "database (or import without --feed to replace it)"
    )


def enter_schema(conn: sa.Connection, feed_id: str) -> tuple[FeedRecord, str]:
    """PostgreSQL, in the import's transaction: the feed's schema made the only one the import's
    statements see (SET LOCAL: until the transaction ends). Returns the registry row to write and the
    schema the registry lives in (the session's own, where an unnamed feed's tables would be)."""
    main = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
    if holds_unnamed_feed(conn, main):
        raise _refuse_named(f"schema {main}")
    schema = schema_of(feed_id)
    quoted = conn.dialect.identifier_preparer.quote_identifier(schema)
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {quoted}")
    return new_record(feed_id, schema), main


def register_in(conn: sa.Connection, record: FeedRecord, main: str) -> None:
    register(conn, record, schema=main)


def sqlite_feed_file(main: Path, feed_id: str) -> Path:
    """The file a feed is loaded into, beside the main file; refuses a main file holding an unnamed feed."""
    folder = feeds_folder(main)
    if main.is_file():
        engine = create_engine_for(sa.URL.create("sqlite", database=str(main)))
        try:
            with engine.connect() as conn:
                if holds_unnamed_feed(conn):
                    raise _refuse_named(str(main))
        finally:
            engine.dispose()
    try:
        folder.mkdir(exist_ok=True)
    except OSError as err:
        raise DatabaseError(f"cannot create {folder}: {err.strerror or err}") from err
    return folder / file_of(feed_id)


def register_sqlite(main: Path, feed_id: str) -> None:
    """Once the feed's file is in place: its registry row in the main file (made if missing)."""
    engine = create_engine_for(sa.URL.create("sqlite", database=str(main)))
    try:
        with engine.begin() as conn:
            register(conn, new_record(feed_id, file_of(feed_id)))
    finally:
        engine.dispose()


def refuse_unnamed_sqlite(main: Path) -> None:
    """Importing without --feed over a main file of named feeds (it would lose their registry)."""
    if not main.is_file():
        return
    engine = create_engine_for(sa.URL.create("sqlite", database=str(main)))
    try:
        with engine.connect() as conn:
            refuse_unnamed(conn, str(main))
    finally:
        engine.dispose()
