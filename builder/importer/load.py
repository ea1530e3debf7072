"""Loading one GTFS file into its table, streaming: rows go to the database in batches as they are read."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from builder import gtfs
from builder.database import gtfs_table, insert_rows
from builder.errors import FeedError
from builder.importer.feedfiles import CP1252, READ_ERRORS, UTF8, Feed, open_csv
from builder.importer.limits import field_error
from builder.importer.values import Issues, Value, column_parsers, converted_rows


@dataclass(frozen=True)
class FileLoad:
    """What loading one file gave: its table (None when it could not be loaded) and what was wrong."""

    name: str  # of the table (and of the file, less .txt)
    table: sa.Table | None
    encoding: str
    issues: Issues  # rows left out, with why
    fatal: list[str] = field(default_factory=list)  # problems that refuse the feed even when skipping
    warnings: list[str] = field(default_factory=list)


def load_file(conn: sa.Connection, feed: Feed, metadata: sa.MetaData, name: str, limit: int) -> FileLoad:
    """Load `name` (a table of gtfs.TABLES) as UTF-8, or as Windows-1252 when it is not valid UTF-8."""
    file_name = gtfs.TABLES[name].file_name
    try:
        try:
            return _load(conn, feed, metadata, name, UTF8, limit)
        except UnicodeDecodeError as err:
            # Rows already loaded were decoded right, but the file is read again whole in one encoding
            # rather than mixing two: a cp1252 file is often valid UTF-8 up to its first accent.
            if name in metadata.tables:
                metadata.tables[name].drop(conn)
                metadata.remove(metadata.tables[name])
            load = _load(conn, feed, metadata, name, CP1252, limit)
            note = f"{file_name}: not valid UTF-8 (byte 0x{err.object[err.start]:02x}); read as Windows-1252"
            return FileLoad(name, load.table, load.encoding, load.issues, load.fatal, [note, *load.warnings])
    except READ_ERRORS as err:
        raise FeedError(f"cannot read {file_name} from {feed.source}: {err}") from err


def _load(
    conn: sa.Connection, feed: Feed, metadata: sa.MetaData, name: str, encoding: str, limit: int
) -> FileLoad:
    table_def = gtfs.TABLES[name]
    file_name = table_def.file_name
    issues = Issues(file_name, limit)
    with open_csv(feed, file_name, encoding) as csv_file:
        if csv_file is None:
            if name in gtfs.REQUIRED_FILES:
                return FileLoad(name, None, encoding, issues, [f"{file_name}: the file is empty"])
            return FileLoad(name, None, encoding, issues, warnings=[f"{file_name}: empty; skipped"])
        where = f"{file_name}:{csv_file.header_line}"
        repeated = sorted({c for c in csv_file.header if csv_file.header.count(c) > 1})
        if repeated:  # no table can hold the file
            problems = [f"{where}: column {c} appears more than once" for c in repeated]
            return FileLoad(name, None, encoding, issues, problems)
        fatal = [
            f"{where}: required column {c} is missing"
            for c in table_def.required_columns
            if c not in csv_file.header
        ]
        table = gtfs_table(metadata, name, csv_file.header)
        table.create(conn)
        reader = csv_file.reader
        try:
            insert_rows(conn, table, converted_rows(csv_file, column_parsers(name, csv_file.header), issues))
        except csv.Error as err:
            too_large = field_error(file_name, reader.line_num, err, feed.limits)
            if too_large is not None:
                raise too_large from err
            # The rest of the file cannot be told apart into rows: its problem refuses the feed.
            fatal.append(f"{file_name}:{reader.line_num}: {err}")
    return FileLoad(name, table, encoding, issues, fatal)


def rescan(feed: Feed, load: FileLoad) -> Iterator[tuple[int, list[Value]]]:
    """(line, values) of the rows that were loaded from the file, read again to name lines in problems."""
    file_name = gtfs.TABLES[load.name].file_name
    try:
        with open_csv(feed, file_name, load.encoding) as csv_file:
            if csv_file is None:
                return
            reader = csv_file.reader
            for values in converted_rows(csv_file, column_parsers(load.name, csv_file.header), None):
                yield reader.line_num, values
    except (*READ_ERRORS, csv.Error, UnicodeDecodeError) as err:
        raise FeedError(f"cannot read {file_name} from {feed.source} again: {err}") from err
