"""Row shapers: turn a database row into a document dict following the models' rules, fast.

A shaper is compiled once per (table columns, model) into a plain function, so that the per-row work on
millions of stop times is one dict display and a few `is not None` tests, not a loop over columns.
The rules come from builder.models (through builder.contract): fields without a default are always
present, the others only when not null; GTFS integer and float fields get numbers even from a database
that stores them as text; times are zero-padded HH:MM:SS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from builder.contract import fields
from builder.gtfs import TABLES, Kind, column_kind
from builder.snapshot.kinds import href

Row = Sequence[Any]
Shaper = Callable[[Row], dict[str, Any]]


def pad_time(value: str | None) -> str | None:
    """`5:30:00` -> `05:30:00`; hours past 24 kept; empty text (some loaders store it) -> None."""
    if value is None or len(value) == 8:
        return value
    if len(value) == 7 and value[1] == ":" and value[4] == ":":
        return "0" + value  # H:MM:SS, the usual unpadded form: no split and format per stop time
    value = value.strip()
    if not value:
        return None
    h, m, s = value.split(":")
    return f"{int(h):02d}:{int(m):02d}:{int(s):02d}"


def _to_int(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    return int(float(text)) if text else None


def _to_float(value: Any) -> float | None:
    if value is None or isinstance(value, float):
        return value
    text = str(value).strip()
    return float(text) if text else None


def _to_text(value: Any) -> str | None:
    # IDs and names are strings exactly as the feed wrote them, even where another loader typed them.
    return value if value is None or isinstance(value, str) else str(value)


def _date_text(value: Any) -> str | None:
    # node-gtfs stores dates as integers 20240131; documents carry the GTFS text form.
    return None if value is None else str(value)


def _value_expr(kind: Kind, index: int, numeric_column: bool) -> str:
    v = f"r[{index}]"
    if kind is Kind.TIME:
        return f"({v} if {v} is None or len({v}) == 8 else _pad({v}))"
    if kind is Kind.INT:
        return v if numeric_column else f"_int({v})"
    if kind is Kind.FLOAT:
        return v if numeric_column else f"_float({v})"
    if kind is Kind.DATE:
        return f"_date({v})"
    return v if numeric_column else f"_text({v})"


def compile_shaper(
    table: str,
    columns: Sequence[str],
    model: str,
    *,
    typed: frozenset[str] = frozenset(),
    extra: dict[str, str] | None = None,
    skip: frozenset[str] = frozenset(),
) -> Shaper:
    """A function row -> dict for rows whose values come in `columns` order.

    `typed`: columns whose database type already matches their GTFS kind (no conversion needed).
    `extra`: key -> Python expression over the row `r`, appended to every dict (e.g. an href, via `_href`).
    `skip`: columns left out of the dict (for example the parent's id in a nested list).
    """
    always = fields(model).always
    required: list[tuple[str, str]] = []
    optional: list[tuple[str, str]] = []
    for i, name in enumerate(columns):
        if name in skip:
            continue
        expr = _value_expr(column_kind(table, name), i, name in typed)
        (required if name in always else optional).append((name, expr))
    # A foreign database may lack a column the documents always carry: it is then null.
    known = TABLES[table].columns if table in TABLES else {}
    required += [(n, "None") for n in sorted(always) if n in known and n not in columns and n not in skip]
    lines = ["def shape(r):", "    d = {" + ", ".join(f"{n!r}: {e}" for n, e in required) + "}"]
    for name, expr in optional:
        lines.append(f"    v = {expr}")
        lines.append(f"    if v is not None: d[{name!r}] = v")
    for name, expr in (extra or {}).items():
        lines.append(f"    d[{name!r}] = {expr}")
    lines.append("    return d")
    namespace: dict[str, Any] = {
        "_pad": pad_time,
        "_int": _to_int,
        "_float": _to_float,
        "_text": _to_text,
        "_date": _date_text,
        "_href": href,
    }
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from column names via repr(), no user code
    shaper: Shaper = namespace["shape"]
    return shaper
