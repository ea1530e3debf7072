"""The checks that need the whole feed loaded: duplicate keys and references between files.

They run in SQL over the indexed tables, so a valid feed costs a few index walks. Only when something
is found is the file read again, to name the offending lines.
"""

from __future__ import annotations

import graphlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from builder import gtfs
from builder.errors import DatabaseError
from builder.importer.values import DANGLING, DUPLICATE, REPEATED, Issues, Value, plural

# (line, values in the table's column order) of a loaded file, read again.
Rescan = Callable[[str], Iterator[tuple[int, list[Value]]]]
SERVICE_REFERENCE = ("trips", "service_id", gtfs.SERVICE_FILES, "service_id")


@dataclass(frozen=True)
class Finding:
    """Rows a check found at fault, and up to `limit` of the keys (or values) they hold."""

    rows: int
    groups: int  # distinct keys (or values) among them
    samples: list[tuple[Value, ...]]


# Groups read at a time: a feed can hold millions of duplicate keys or dangling values, and psycopg reads a
# whole result into memory unless a server-side cursor is asked for (SQLite steps through rows anyway).
_STREAM_ROWS = 1000


def _stream(conn: sa.Connection, query: sa.Select[Any], limit: int) -> Finding:
    # The last column of `query` counts the rows of each group.
    rows, groups = 0, 0
    samples: list[tuple[Value, ...]] = []
    for record in conn.execute(query.execution_options(yield_per=_STREAM_ROWS)):
        rows += int(record[-1])
        groups += 1
        if len(samples) < limit:
            samples.append(tuple(record[:-1]))
    return Finding(rows, groups, samples)


def find_duplicates(conn: sa.Connection, table: sa.Table, key: Sequence[str], limit: int) -> Finding:
    """Rows repeating an earlier row's key (every row of a group but one); keys with a NULL are not keys."""
    columns = [table.c[k] for k in key]
    query = (
        sa.select(*columns, sa.func.count() - 1)
        .where(*(c.is_not(None) for c in columns))
        .group_by(*columns)
        .having(sa.func.count() > 1)
    )
    return _stream(conn, query, limit)


def _dangling_values(
    table: sa.Table, column: str, targets: Sequence[sa.Column[Value]]
) -> sa.Select[tuple[Value, int]]:
    """(value, rows) of each value of `column` that none of `targets` holds; NULL refers to nothing."""
    source = table.c[column]
    # Grouping first walks the column's index once; only the distinct values then probe the targets.
    grouped = (
        sa.select(source.label("value"), sa.func.count().label("n"))
        .where(source.is_not(None))
        .group_by(source)
        .subquery()
    )
    # NOT EXISTS, an anti-join probing the target's key index: PostgreSQL runs NOT IN as a hashed
    # subplan only while the target fits in work_mem, and past that (a million trips) rescans the
    # target for every value.
    missing = [~sa.exists().where(t == grouped.c.value).correlate(grouped) for t in targets]
    return sa.select(grouped.c.value, grouped.c.n).where(*missing)


def find_dangling(
    conn: sa.Connection, table: sa.Table, column: str, targets: Sequence[sa.Column[Value]], limit: int
) -> Finding:
    """Rows whose `column` matches none of `targets` (with no targets: every row with a value)."""
    return _stream(conn, _dangling_values(table, column, targets), limit)


def drop_dangling(
    conn: sa.Connection, table: sa.Table, column: str, targets: Sequence[sa.Column[Value]]
) -> int:
    values = _dangling_values(table, column, targets).subquery()
    return conn.execute(table.delete().where(table.c[column].in_(sa.select(values.c.value)))).rowcount


def drop_duplicates(conn: sa.Connection, table: sa.Table, key: Sequence[str]) -> int:
    """Delete every row whose key an earlier row (in file order) already has."""
    return _delete_later_rows(conn, table, key, key)


def drop_repeated_rows(conn: sa.Connection, table: sa.Table, key: Sequence[str]) -> int:
    """Delete every row that repeats an earlier row value for value (among rows sharing a key)."""
    return _delete_later_rows(conn, table, [c.name for c in table.c], key)


def _delete_later_rows(conn: sa.Connection, table: sa.Table, same: Sequence[str], key: Sequence[str]) -> int:
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise DatabaseError(f"dropping duplicate rows is not supported on {dialect}")
    row_id = "rowid" if dialect == "sqlite" else "ctid"
    quote = conn.dialect.identifier_preparer.quote
    name = conn.dialect.identifier_preparer.format_table(table)
    keys = ", ".join(quote(k) for k in key)
    # Rows are loaded in file order, so a smaller row id is an earlier line: every row but the first of
    # its partition goes (partitions, like GROUP BY, hold NULLs together: a NULL repeats a NULL). Only
    # rows of a repeated key are numbered: there are few, and the key index finds them. A window
    # sorts them once; an EXISTS looking for an earlier equal row cannot use an index on PostgreSQL
    # (IS NOT DISTINCT FROM), and was quadratic there.
    statement = (
        f"DELETE FROM {name} WHERE {row_id} IN (SELECT later FROM ("
        f"SELECT {row_id} AS later, row_number() OVER "
        f"(PARTITION BY {', '.join(quote(c) for c in same)} ORDER BY {row_id}) AS n FROM {name} "
        f"WHERE ({keys}) IN (SELECT {keys} FROM {name} GROUP BY {keys} HAVING count(*) > 1)"
        ") AS numbered WHERE n > 1)"
    )
    return conn.exec_driver_sql(statement).rowcount


def reference_order(references: Sequence[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """References ordered so that a table's rows are all dropped before rows referring to it are checked:
    a trip dropped for its route must take its stop_times with it."""
    graph = {table: {target for t, _, target, _ in references if t == table} for table, *_ in references}
    order = list(graphlib.TopologicalSorter(graph).static_order())
    return sorted(references, key=lambda r: order.index(r[0]))


def name_duplicates(
    rescan: Rescan, table: sa.Table, key: Sequence[str], found: Finding, issues: Issues
) -> None:
    """Name the lines of rows whose key an earlier row with other values has."""
    positions = [list(table.c.keys()).index(k) for k in key]
    wanted = set(found.samples)
    earlier: dict[tuple[Value, ...], tuple[int, list[list[Value]]]] = {}  # key -> first line, rows seen
    issues.problems += found.rows
    issues.rows[DUPLICATE] += found.rows
    for line, values in rescan(table.name):
        if len(issues.lines) >= issues.limit:
            return
        row_key = tuple(values[i] for i in positions)
        if row_key not in wanted:
            continue
        first_line, seen = earlier.setdefault(row_key, (line, []))
        if values in seen:
            continue  # the first row of its key, or a repeat of one (dropped, with a warning)
        seen.append(values)
        if len(seen) > 1:
            shown = ", ".join(f"{k} {v!r}" for k, v in zip(key, row_key))
            issues.lines.append(f"{issues.file_name}:{line}: duplicate {shown} (first on line {first_line})")


def name_dangling(
    rescan: Rescan, table: sa.Table, column: str, target_files: str, found: Finding, issues: Issues
) -> None:
    position = list(table.c.keys()).index(column)
    wanted = {sample[0] for sample in found.samples}
    issues.problems += found.rows
    issues.rows[DANGLING] += found.rows
    for line, values in rescan(table.name):
        if len(issues.lines) >= issues.limit:
            return
        if values[position] in wanted:
            issues.lines.append(
                f"{issues.file_name}:{line}: {column} {values[position]!r} is not in {target_files}"
            )


@dataclass(frozen=True)
class CheckResult:
    issues: list[Issues]  # what refuses the feed (none when invalid rows are dropped instead)
    dropped: Counter[str]  # kind -> rows deleted
    warnings: list[str]
    # "table.column" -> rows kept whose soft reference points at nothing (the documents leave the link out)
    dangling: Counter[str] = field(default_factory=Counter)


def check_feed(
    conn: sa.Connection,
    tables: Mapping[str, sa.Table],
    rescan: Rescan,
    *,
    repeated_keys: set[str],
    drop_invalid: bool,
    room: int,
) -> CheckResult:
    """Duplicate keys (of the tables in `repeated_keys`) and dangling hard references: refused, or
    dropped when `drop_invalid`; then soft references, warned. At most `room` problem lines are named."""
    keys = check_keys(
        conn,
        [t for t in tables.values() if t.name in repeated_keys],
        rescan,
        drop_invalid=drop_invalid,
        room=room,
    )
    room -= sum(len(i.lines) for i in keys.issues)
    references = check_references(conn, tables, rescan, drop_invalid=drop_invalid, room=room)
    soft_warnings, dangling = soft_references(conn, tables)
    return CheckResult(
        keys.issues + references.issues,
        keys.dropped + references.dropped,
        keys.warnings + references.warnings + soft_warnings,
        dangling,
    )


def check_keys(
    conn: sa.Connection, tables: Sequence[sa.Table], rescan: Rescan, *, drop_invalid: bool, room: int
) -> CheckResult:
    issues: list[Issues] = []
    dropped: Counter[str] = Counter()
    warnings: list[str] = []
    for table in tables:
        key = gtfs.TABLES[table.name].key
        # A row repeated value for value says nothing new (real feeds ship such copies): drop it, say so.
        repeats = drop_repeated_rows(conn, table, key)
        if repeats:
            dropped[REPEATED] += repeats
            warnings.append(
                f"{table.name}.txt: dropped {plural(repeats, 'row')} repeating an earlier row exactly"
            )
        found = find_duplicates(conn, table, key, room)
        if not found.rows:
            continue
        if drop_invalid:
            dropped[DUPLICATE] += drop_duplicates(conn, table, key)
            warnings.append(
                f"{table.name}.txt: dropped {plural(found.rows, 'row')} repeating the "
                f"{'/'.join(key)} of an earlier row"
            )
        else:
            issues.append(Issues(f"{table.name}.txt", room))
            name_duplicates(rescan, table, key, found, issues[-1])
            room -= len(issues[-1].lines)
    return CheckResult(issues, dropped, warnings)


def check_references(
    conn: sa.Connection, tables: Mapping[str, sa.Table], rescan: Rescan, *, drop_invalid: bool, room: int
) -> CheckResult:
    issues: list[Issues] = []
    dropped: Counter[str] = Counter()
    warnings: list[str] = []
    for table, column, targets, shown in _references(tables, reference_order(gtfs.REFERENCES)):
        if drop_invalid:
            count = drop_dangling(conn, table, column, targets)
            dropped[DANGLING] += count
            if count:
                warnings.append(
                    f"{table.name}.txt: dropped {plural(count, 'row')} whose {column} is not in {shown}"
                )
            continue
        found = find_dangling(conn, table, column, targets, room)
        if found.rows:
            issues.append(Issues(f"{table.name}.txt", room))
            name_dangling(rescan, table, column, shown, found, issues[-1])
            room -= len(issues[-1].lines)
    return CheckResult(issues, dropped, warnings)


def soft_references(conn: sa.Connection, tables: Mapping[str, sa.Table]) -> tuple[list[str], Counter[str]]:
    """Warnings about dangling soft references, and how many rows dangle per "table.column"."""
    references = [(t, c, (target,), tc) for t, c, target, tc in gtfs.SOFT_REFERENCES] + [SERVICE_REFERENCE]
    warnings = []
    dangling: Counter[str] = Counter()
    for table, column, targets, shown in _references(tables, references, allow_missing_target=True):
        found = find_dangling(conn, table, column, targets, 3)
        if found.rows:
            dangling[f"{table.name}.{column}"] = found.rows
            examples = ", ".join(repr(s[0]) for s in found.samples)
            warnings.append(
                f"{table.name}.txt: {plural(found.rows, 'row')} with a {column} not in {shown} "
                f"({found.groups} distinct, e.g. {examples}); kept"
            )
    return warnings, dangling


def _references(
    tables: Mapping[str, sa.Table],
    references: Sequence[tuple[str, str, str | tuple[str, ...], str]],
    *,
    allow_missing_target: bool = False,
) -> Iterator[tuple[sa.Table, str, list[sa.Column[Value]], str]]:
    """(table, column, target columns, target files as said in messages) of the references that apply.

    A reference applies when its column was loaded. A missing target file is already a refusal for hard
    references; for soft ones it means every value dangles.
    """
    for name, column, target_names, target_column in references:
        table = tables.get(name)
        if table is None or column not in table.c:
            continue
        names = (target_names,) if isinstance(target_names, str) else target_names
        present = [tables[t] for t in names if t in tables and target_column in tables[t].c]
        if not present and not allow_missing_target:
            continue
        shown = " or ".join(f"{t}.txt" for t in names)
        yield table, column, [t.c[target_column] for t in present], shown
