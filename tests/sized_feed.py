"""A valid feed of any number of stop times, written line by line (a million rows in about a second).

Every table the importer checks grows with it, as in a real feed: about 25 stop times a trip, a stop for
every 500 stop times (a station for every 10 stops), a route for every 200 trips, a shape for every 10
trips with a point per stop; unique trip ids, shape distances and times spread over the day, so the
importer's per-column memos see as many distinct values as a large city gives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

STOPS_PER_TRIP = 25


def _write(path: Path, header: str, lines: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(header + "\n")
        out.writelines(lines)


def write_sized_feed(folder: Path, stop_times: int) -> Path:
    """A folder feed of `stop_times` stop times (rounded to whole trips)."""
    folder.mkdir(parents=True, exist_ok=True)
    trips = max(stop_times // STOPS_PER_TRIP, 1)
    stops = max(stop_times // 500, STOPS_PER_TRIP * 2)
    stations = max(stops // 10, 1)
    routes = max(trips // 200, 1)
    shapes = max(trips // 10, 1)
    _write(
        folder / "agency.txt",
        "agency_id,agency_name,agency_url,agency_timezone",
        ["A,Sized,https://a.example/,America/New_York\n"],
    )
    _write(
        folder / "calendar.txt",
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date",
        ["WK,1,1,1,1,1,0,0,20260101,20261231\n", "WE,0,0,0,0,0,1,1,20260101,20261231\n"],
    )
    _write(
        folder / "calendar_dates.txt",
        "service_id,date,exception_type",
        [f"WK,202607{d:02d},2\n" for d in range(1, 29)],
    )
    _write(
        folder / "stops.txt",
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station",
        [f"P{s},Station {s},{40 + s / 1e5:.6f},{-74 + s / 1e5:.6f},1,\n" for s in range(stations)]
        + [f"S{s},Stop {s},{40 + s / 1e5:.6f},{-74 - s / 1e5:.6f},0,P{s % stations}\n" for s in range(stops)],
    )
    _write(
        folder / "routes.txt",
        "route_id,agency_id,route_short_name,route_type",
        (f"R{r},A,{r},3\n" for r in range(routes)),
    )
    _write(
        folder / "trips.txt",
        "route_id,service_id,trip_id,shape_id,trip_headsign",
        (
            f"R{t % routes},{'WE' if t % 7 == 6 else 'WK'},T{t:08d},SH{t % shapes},To {t % 97}\n"
            for t in range(trips)
        ),
    )
    _write(
        folder / "shapes.txt",
        "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled",
        (
            f"SH{h},{40 + (h + p) / 1e5:.6f},{-74 + p / 1e5:.6f},{p},{_distance(h, p)}\n"
            for h in range(shapes)
            for p in range(STOPS_PER_TRIP)
        ),
    )
    _write(
        folder / "stop_times.txt",
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,shape_dist_traveled",
        _stop_times(trips, stops, shapes),
    )
    return folder


def _distance(shape: int, point: int) -> str:
    return f"{point * 250.5 + shape * 0.001:.3f}"  # distinct for every point of every shape


def _stop_times(trips: int, stops: int, shapes: int) -> Iterable[str]:
    for t in range(trips):
        start = 4 * 3600 + (t * 37) % (21 * 3600)
        first = (t * 13) % (stops - STOPS_PER_TRIP)
        for seq in range(STOPS_PER_TRIP):
            second = start + seq * 97
            time = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            yield f"T{t:08d},{time},{time},S{first + seq},{seq + 1},{_distance(t % shapes, seq)}\n"
