"""From CSV text to database values: one parser per column, chosen once per file from the GTFS reference.

The hot loop converts millions of stop_times values, so each column's parser sits behind a memo (a dict
whose misses call the parser): GTFS values repeat a lot (ids, times, sequence numbers), and a dict hit
costs less than any parse. Rows whose values do not parse are described column by column only then,
off the hot path.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import getitem
from typing import TYPE_CHECKING

from builder import gtfs
from builder.importer.limits import check_columns

if TYPE_CHECKING:
    from builder.importer.feedfiles import CsvFile

Value = str | int | float | None
Parse = Callable[[str], Value]

# Ranges the reference gives coordinates; everything else is only checked for its form.
_BOUNDS: dict[str, tuple[float, float]] = {
    "stop_lat": (-90.0, 90.0),
    "stop_lon": (-180.0, 180.0),
    "shape_pt_lat": (-90.0, 90.0),
    "shape_pt_lon": (-180.0, 180.0),
}
_TIME = re.compile(r"([0-9]{1,2}):[0-5][0-9]:[0-5][0-9]")
_DATE = re.compile(r"[0-9]{8}")
# Enough for every distinct time of day (and past midnight) and the ids of a large city; a column whose
# values never repeat stops growing there instead of holding a whole file.
_MEMO_LIMIT = 1 << 17

MALFORMED = "malformed"
MISSING_ID = "missing_id"
DUPLICATE = "duplicate"
REPEATED = "repeated_row"  # identical to an earlier row: dropped in any mode, with a warning
DANGLING = "dangling_reference"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class EmptyIdError(ValueError):
    """An identifying value is empty: the row cannot be referenced nor checked."""


def _text(raw: str) -> str | None:
    if "\0" in raw:  # PostgreSQL text cannot hold it, and no GTFS value means it
        raise ValueError("contains a NUL character")
    return raw.strip() or None


def _integer(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    value: int | None = None
    if text.isascii() and "_" not in text:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                pass
            else:
                if number.is_integer():  # "3.0" from spreadsheet exports
                    value = int(number)
    if value is None:
        raise ValueError("is not a whole number")
    if not -(2**63) <= value < 2**63:  # what SQLite and PostgreSQL (bigint) can store
        raise ValueError("is out of range")
    return value


def _number(raw: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        number = float(text) if text.isascii() and "_" not in text else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError("is not a number")
    return number


def _time(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if not _TIME.fullmatch(text):
        raise ValueError("is not a time H:MM:SS (minutes and seconds 00-59)")
    return text if len(text) == 8 else "0" + text


def _date(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        if _DATE.fullmatch(text):
            datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            return text
    except ValueError:
        pass
    raise ValueError("is not a date YYYYMMDD")


_BY_KIND: dict[gtfs.Kind, Parse] = {
    gtfs.Kind.TEXT: _text,
    gtfs.Kind.INT: _integer,
    gtfs.Kind.FLOAT: _number,
    gtfs.Kind.TIME: _time,
    gtfs.Kind.DATE: _date,
}


@functools.cache
def parser(kind: gtfs.Kind, required: bool = False, bounds: tuple[float, float] | None = None) -> Parse:
    """The parser for a kind of column; equal arguments give the same function, so columns share memos."""
    base = _BY_KIND[kind]
    if bounds is None and not required:
        return base

    def checked(raw: str) -> Value:
        value = base(raw)
        if value is None:
            if required:
                raise EmptyIdError("is empty")
        elif bounds is not None and isinstance(value, float) and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"is out of range [{bounds[0]:g}, {bounds[1]:g}]")
        return value

    return checked


def identifying_columns(table: gtfs.Table) -> frozenset[str]:
    """Required columns that name a row (its key, or an id it refers by): an empty one is an error."""
    return frozenset(c for c in table.required_columns if c in table.key or c.endswith("_id"))


def column_parsers(table_name: str, header: list[str]) -> list[Parse]:
    table = gtfs.TABLES[table_name]
    ids = identifying_columns(table)
    return [parser(gtfs.column_kind(table_name, c), c in ids, _BOUNDS.get(c)) for c in header]


class _Memo(dict[str, Value]):
    """A parser's results by raw text; bounded, so a column of unique values cannot fill memory."""

    __slots__ = ("parse",)

    def __init__(self, parse: Parse) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, raw: str) -> Value:
        value = self.parse(raw)
        if len(self) < _MEMO_LIMIT:
            self[raw] = value
        return value


@dataclass
class Issues:
    """Rows of one file refused: how many of each kind, and the first problem lines that say why."""

    file_name: str
    limit: int
    lines: list[str] = field(default_factory=list)
    problems: int = 0  # a row may hold several problems
    rows: Counter[str] = field(default_factory=Counter)  # kind -> rows

    def add(self, line: int, found: list[tuple[str, str]]) -> None:
        self.rows[found[0][0]] += 1
        self.problems += len(found)
        for _, text in found:
            if len(self.lines) < self.limit:
                self.lines.append(f"{self.file_name}:{line}: {text}")


def describe(header: list[str], parsers: list[Parse], row: list[str]) -> list[tuple[str, str]]:
    """(kind, text) of each value of a row that does not parse."""
    found: list[tuple[str, str]] = []
    for name, parse, raw in zip(header, parsers, row):
        try:
            parse(raw)
        except EmptyIdError:
            found.append((MISSING_ID, f"{name} is empty"))
        except ValueError as err:
            found.append((MALFORMED, f"{name} {raw.strip()!r} {err}"))
    return found


def converted_rows(csv_file: CsvFile, parsers: list[Parse], issues: Issues | None) -> Iterator[list[Value]]:
    """The file's rows as database values; rows that do not convert are left out (and told to `issues`).

    Blank lines and rows of only empty values are skipped; short rows are padded with empty values and
    values beyond the header are ignored (up to the limit on columns).
    """
    reader, header, last_row = csv_file.reader, csv_file.header, csv_file.last_row
    width = len(header)
    padding = [""] * width
    memos: dict[Parse, _Memo] = {}
    column_memos = [memos.setdefault(p, _Memo(p)) for p in parsers]
    for row in reader:
        last_row[0] = row  # one store a row: what bounds a record quoted over many lines (BoundedStream)
        fields = len(row)
        if fields != width:
            if fields > width:
                check_columns(csv_file.name, reader.line_num, fields, csv_file.limits)
            elif not row:
                continue
            else:
                row = row + padding[fields:]
        try:
            values = list(map(getitem, column_memos, row))
        except ValueError:
            found = describe(header, parsers, row)
            if issues is not None and found and any(v.strip() for v in row):
                issues.add(reader.line_num, found)
            continue
        if values[0] is None and values.count(None) == width:
            continue
        yield values
