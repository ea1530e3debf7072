"""Releases with a site for the website's tests.

The pages read timetables (`timetables/<key>.json`, issue 12), route GeoJSON (`routes/<key>.geojson`)
and departure boards (`departures/<date>/<key>.json`, issue 11). Until the builds that make those land
on this branch, `add_schedule_documents` writes small ones in the formats the issues specify, derived
from a real build's route trees and stop views (simply: one merged stop sequence per direction and
weekday pattern, boards from the stop views' visits). `site_release` then renders the site over the
folder exactly as `build --site` does over its staging folder, and publishes it as a release.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from builder.build import BuildSettings, build
from builder.calendars import WEEKDAYS, format_date, parse_date, service_dates
from builder.kinds import MEDIA_TYPES, kind
from builder.manifest import Entry, Manifest
from builder.output import DocumentWriter, OutputLayout, build_id_of, publish
from builder.site import site_documents

Doc = dict[str, Any]
WINDOW = ("20260306", 3)  # Friday to Sunday in the sample feed: weekday and weekend boards differ


def _read(path: Path) -> Doc:
    doc: Doc = orjson.loads(path.read_bytes())
    return doc


def _write(path: Path, doc: Doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))


def merge_sequences(sequences: list[list[str]]) -> list[str]:
    """One sequence every given one embeds into in order (each missing stop inserted where it is met)."""
    merged: list[str] = []
    for sequence in sorted(sequences, key=len, reverse=True):
        at = 0
        for stop in sequence:
            try:
                at = merged.index(stop, at) + 1
            except ValueError:
                merged.insert(at, stop)
                at += 1
    return merged


def _cells(trip: Doc, order: list[str]) -> list[str | None]:
    cells: list[str | None] = [None] * len(order)
    at = 0
    for st in trip["stop_times"]:
        at = order.index(st["stop_id"], at)
        cells[at] = st.get("departure_time") or st.get("arrival_time") or ""
        at += 1
    return cells


def _label(days: list[str]) -> str:
    names = {("monday", "tuesday", "wednesday", "thursday", "friday"): "Monday to Friday",
             ("saturday", "sunday"): "Saturday and Sunday", tuple(WEEKDAYS): "Daily"}
    return names.get(tuple(days)) or (" and ".join(d.title() for d in days) if days else "Special days")


def timetable(tree: Doc) -> Doc:
    groups: dict[tuple[Any, tuple[str, ...]], list[Doc]] = defaultdict(list)
    for trip in tree["trips"]:
        service = tree["services"].get(trip["service_id"], {})
        days = tuple(d for d in WEEKDAYS if service.get(d) == 1)
        groups[(trip.get("direction_id"), days)].append(trip)
    tables = []
    for (direction, days), trips in sorted(groups.items(), key=lambda g: (g[0][0] is None, g[0][0] or 0,
                                                                          g[0][1])):
        order = merge_sequences([[st["stop_id"] for st in t["stop_times"]] for t in trips])
        tables.append({
            "direction_id": direction, "days": list(days), "label": _label(list(days)),
            "service_ids": sorted({t["service_id"] for t in trips}),
            "headsigns": sorted({t["trip_headsign"] for t in trips if t.get("trip_headsign")}),
            "stops": [tree["stops"][s] for s in order],
            "trips": [{"trip_id": t["trip_id"], "service_id": t["service_id"],
                       "trip_headsign": t.get("trip_headsign"), "href": t["href"],
                       "frequencies": t.get("frequencies", []), "times": _cells(t, order)} for t in trips]})
    return {"route": {k: v for k, v in tree["route"].items() if not k.startswith("x_")}, "timetables": tables}


def geojson(tree: Doc) -> Doc:
    patterns = sorted({tuple(st["stop_id"] for st in t["stop_times"]) for t in tree["trips"]})
    stops = tree["stops"]
    lines = [{"type": "Feature", "properties": {"shape_id": None, "from_stops": True,
                                                "route_id": tree["route"]["route_id"]},
              "geometry": {"type": "LineString",
                           "coordinates": [[stops[s]["stop_lon"], stops[s]["stop_lat"]] for s in pattern]}}
             for pattern in patterns if len(pattern) > 1]
    points = [{"type": "Feature", "properties": {"stop_id": s["stop_id"], "stop_name": s["stop_name"],
                                                 "href": s["href"]},
               "geometry": {"type": "Point", "coordinates": [s["stop_lon"], s["stop_lat"]]}}
              for _, s in sorted(stops.items())]
    return {"type": "FeatureCollection", "features": lines + points}


def _instant(service_day: date, gtfs_time: str, zone: ZoneInfo) -> datetime:
    hours, minutes, seconds = map(int, gtfs_time.split(":"))
    noon = datetime(service_day.year, service_day.month, service_day.day, 12, tzinfo=zone)
    return noon - timedelta(hours=12) + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def board(view: Doc, day: date, zone: ZoneInfo) -> Doc:
    runs = {sid: service_dates(s) for sid, s in view["services"].items()}
    rows = []
    for visit in view["trips"]:
        when = visit.get("departure_time") or visit.get("arrival_time")
        for service_day in (day - timedelta(days=1), day):
            if not when or service_day not in runs.get(visit["service_id"], ()):
                continue
            instant = _instant(service_day, when, zone)
            if instant.date() != day:
                continue
            times = {k: _instant(service_day, visit[f"{k}_time"], zone).isoformat()
                     if visit.get(f"{k}_time") else None for k in ("arrival", "departure")}
            rows.append((instant, visit["trip_id"], visit["stop_sequence"], {
                **{k: visit.get(k) for k in ("trip_id", "route_id", "service_id", "trip_headsign",
                                              "direction_id", "stop_sequence", "arrival_time",
                                              "departure_time", "href")},
                "stop_id": view["stop"]["stop_id"], "service_date": format_date(service_day),
                "pickup_type": visit.get("pickup_type", 0), "drop_off_type": visit.get("drop_off_type", 0),
                "estimated": False, "frequency": None, **times}))
    rows.sort(key=lambda r: r[:3])
    return {"date": format_date(day), "timezone": zone.key, "stop": view["stop"],
            "departures": [r[3] for r in rows], "routes": view["routes"]}


def add_schedule_documents(folder: Path, window: tuple[str, int] = WINDOW) -> None:
    feed = _read(folder / "feed.json")
    zone = ZoneInfo(feed["agencies"][0]["agency_timezone"])
    for route in _read(folder / "routes.json")["routes"]:
        tree = _read(folder / route["href"])
        key = route["href"].split("/", 1)[1].removesuffix(".json")
        _write(folder / "timetables" / f"{key}.json", timetable(tree))
        _write(folder / "routes" / f"{key}.geojson", geojson(tree))
    first = parse_date(window[0])
    days = [first + timedelta(days=n) for n in range(window[1])]
    for stop in _read(folder / "stops.json")["stops"]:
        view = _read(folder / stop["href"])
        key = stop["href"].split("/", 1)[1].removesuffix(".json")
        stations = [view] + [_read(folder / c["href"]) for c in view["stop"].get("children", [])]
        for day in days:
            boards = [board(v, day, zone) for v in stations]
            merged = boards[0]
            merged["departures"] = sorted((d for b in boards for d in b["departures"]),
                                          key=lambda d: (d["departure"] or d["arrival"], d["trip_id"]))
            for b in boards[1:]:
                merged["routes"].update(b["routes"])
            _write(folder / "departures" / format_date(day) / f"{key}.json", merged)
    feed["departures"] = {"from": window[0], "days": window[1], "href": "departures/{date}/{stop_key}.json"}
    _write(folder / "feed.json", feed)


def site_release(db_url: str, out: Path) -> Path:
    """A real build of the database, the schedule documents added, the site rendered over the folder as
    `build --site` does, and the result published as OUT/current with a manifest of every file."""
    plain = build(BuildSettings(db_url=db_url, out_dir=out / "plain", workers=1))
    layout = OutputLayout(out)
    staging = layout.new_staging()
    shutil.rmtree(staging)
    shutil.copytree(plain.release, staging)
    (staging / "manifest.json").unlink()
    (staging / "build-info.json").unlink()
    add_schedule_documents(staging)
    writer = DocumentWriter(staging)
    for kind_name, id_, doc in site_documents(staging):
        writer.write(kind(kind_name), id_, doc)
    site = {e.path: e for e in writer.entries}
    entries = [site.get(p.relative_to(staging).as_posix()) or _entry(staging, p)
               for p in sorted(staging.rglob("*")) if p.is_file()]
    manifest = Manifest.of(entries).to_bytes()
    (staging / "manifest.json").write_bytes(manifest)
    build_id = build_id_of(manifest)
    os.rename(staging, layout.release(build_id))
    publish(layout, build_id)
    return layout.current


def _entry(root: Path, path: Path) -> Entry:
    """The entry of a document the plain build wrote or this module added (kind: its folder)."""
    data = path.read_bytes()
    relative = path.relative_to(root).as_posix()
    media_type = MEDIA_TYPES["." + relative.rsplit(".", 1)[-1]]
    return Entry(relative, relative.split("/")[0] if "/" in relative else "other", None,
                 hashlib.sha256(data).hexdigest(), len(data), media_type)
