"""Helpers for the import tests: small feeds written on the spot, and looks into the database."""

from __future__ import annotations

import hashlib
import sqlite3
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The smallest feed that passes every check; tests change one file at a time.
MINIMAL: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Agency,https://a.example,Europe/Paris\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.85,2.35\nS2,Two,48.86,2.36\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,WK,T1\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\n"
        "T1,08:05:00,08:05:00,S2,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20240101,20241231\n"
    ),
}


def feed_files(**changes: str | bytes | None) -> dict[str, str | bytes]:
    """MINIMAL with files replaced (`stops="..."`) or removed (`stops=None`)."""
    files: dict[str, str | bytes] = dict(MINIMAL)
    for stem, text in changes.items():
        if text is None:
            files.pop(f"{stem}.txt", None)
        else:
            files[f"{stem}.txt"] = text
    return files


def write_feed(
    where: Path, files: Mapping[str, str | bytes], *, as_zip: bool = True, folder: str = ""
) -> Path:
    """Write `files` ({name: text or bytes}) as `where`.zip (inside `folder` of the zip) or as a folder."""
    if as_zip:
        path = where.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(f"{folder}{name}", content)
        return path
    where.mkdir(parents=True)
    for name, content in files.items():
        target = where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return where


def rows(db: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query, params).fetchall()


def tables(db: Path) -> set[str]:
    return {r[0] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
