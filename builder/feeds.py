"""Several feeds in one database: the registry of feeds imported with `import --feed ID`.

A database either holds one feed without a feed id (its GTFS tables in the main schema or file, as
node-gtfs and gtfs-via-postgres load them: today's layout) or feeds imported under feed ids, each in a
place of its own where its tables keep their GTFS names:

* PostgreSQL: one schema per feed, `feed_<id>`; a connection whose search_path names only that schema
  sees the feed's tables under their GTFS names, so the whole snapshot walk runs unchanged per feed.
* SQLite: one database file per feed, `<main file>.feeds/<id>.sqlite`, beside the main file; the walk
  opens it as it opens any GTFS database.

The main database holds the registry, one row per feed: its id, its key (the folder of its documents,
`feeds/<key>/`), where its tables are (schema or file name), and when it was imported. Re-importing a
feed replaces its schema or file alone, all or nothing, and its registry row.

A feed id is 1 to 50 characters of lowercase ASCII letters, digits, `_` and `-`, starting with a letter
or digit, and not a Windows device name (`con`, `nul`, `com1`...): it is then a safe folder name and URL
segment on every disk and server as it is, and the feed's key is the id itself.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from builder.errors import BuildError, DatabaseError

REGISTRY_TABLE = "_transit_snapshot_feeds"
SCHEMA_PREFIX = "feed_"
FEEDS_FOLDER = "feeds"  # documents of the feed with key K are under feeds/K/ of a snapshot
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_DEVICES = frozenset(["con", "prn", "aux", "nul"] + [f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)])


class FeedIdError(BuildError):
    """A feed id that cannot name a folder, a file and a schema."""


@dataclass(frozen=True)
class FeedRecord:
    """One row of the registry."""

    feed_id: str
    key: str  # the folder of its documents: feeds/<key>/
    location: str  # PostgreSQL: its schema; SQLite: its file's name, in the main file's .feeds folder
    imported_at: str

    @property
    def prefix(self) -> str:
        """Where its documents go in a snapshot, and how every href to them starts."""
        return f"{FEEDS_FOLDER}/{self.key}/"


def checked_id(feed_id: str) -> str:
    if not _ID.fullmatch(feed_id) or feed_id in _DEVICES:
        raise FeedIdError(
            f"feed id {feed_id!r}: use 1 to 50 lowercase letters, digits, '_' and '-', starting with a "
            "letter or digit (it names the feed's folder, feeds/<id>/, and its schema or file)"
        )
    return feed_id


def new_record(feed_id: str, location: str) -> FeedRecord:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return FeedRecord(checked_id(feed_id), feed_id, location, now)


def schema_of(feed_id: str) -> str:
    """The PostgreSQL schema of a feed (at most 55 characters: under the 63 of an identifier)."""
    return SCHEMA_PREFIX + checked_id(feed_id)


def feeds_folder(main: Path) -> Path:
    """The folder of the per-feed SQLite files of the database file `main`."""
    return main.with_name(f"{main.name}.feeds")


def file_of(feed_id: str) -> str:
    return f"{checked_id(feed_id)}.sqlite"


def schema_url(url: str, schema: str) -> str:
    """`url` with every session's search_path set to `schema` alone (libpq's `options`), so that the
    feed's tables are the ones its GTFS names find, and nothing of another schema is seen."""
    parsed = sa.make_url(url)
    options = parsed.query.get("options", "")
    if not isinstance(options, str):
        options = " ".join(options)
    quoted = '"' + schema.replace('"', '""') + '"'
    setting = f"-csearch_path={quoted}"
    return parsed.update_query_dict({"options": f"{options} {setting}".strip()}).render_as_string(
        hide_password=False
    )


def sqlite_registry(path: Path) -> list[FeedRecord]:
    """The feeds of a SQLite main file, read with sqlite3 alone (the build reads it before any engine)."""
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (REGISTRY_TABLE,)
            ).fetchone()
            if found is None:
                return []
            rows = conn.execute(
                f"SELECT feed_id, feed_key, location, imported_at FROM {REGISTRY_TABLE} ORDER BY feed_id"
            ).fetchall()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the database {path}: {exc}") from exc
    return [FeedRecord(*(str(v) for v in row)) for row in rows]


def registry_table(metadata: sa.MetaData, schema: str | None = None) -> sa.Table:
    return sa.Table(
        REGISTRY_TABLE,
        metadata,
        sa.Column("feed_id", sa.Text, primary_key=True),
        sa.Column("feed_key", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Text, nullable=False),
        schema=schema,
    )


def has_registry(conn: sa.Connection, schema: str | None = None) -> bool:
    return sa.inspect(conn).has_table(REGISTRY_TABLE, schema=schema)


def read_registry(conn: sa.Connection, schema: str | None = None) -> list[FeedRecord]:
    """The feeds, by id; [] when the database has no registry (a database of one unnamed feed)."""
    if not has_registry(conn, schema):
        return []
    table = registry_table(sa.MetaData(), schema)
    rows = conn.execute(sa.select(*table.c).order_by(table.c.feed_id))
    return [FeedRecord(*(str(v) for v in row)) for row in rows]


def register(conn: sa.Connection, record: FeedRecord, schema: str | None = None) -> None:
    """Add or replace the feed's row (in the caller's transaction)."""
    table = registry_table(sa.MetaData(), schema)
    table.create(conn, checkfirst=True)
    conn.execute(table.delete().where(table.c.feed_id == record.feed_id))
    conn.execute(
        table.insert().values(
            feed_id=record.feed_id,
            feed_key=record.key,
            location=record.location,
            imported_at=record.imported_at,
        )
    )
