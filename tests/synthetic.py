"""A synthetic GTFS feed big enough that a build takes seconds: room to kill it, or fill a disk, mid-way."""

from __future__ import annotations

from pathlib import Path


def write_feed(folder: Path, *, routes: int, trips_per_route: int, stops: int, tag: str = "") -> Path:
    """A valid feed of `routes` routes, each trip calling at 20 of `stops` stops; `tag` varies headsigns."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agency.txt").write_text(
        "agency_id,agency_name,agency_url,agency_timezone\nA,Synthetic,https://a.example/,UTC\n"
    )
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,1,1,20260101,20261231\n"
    )
    (folder / "stops.txt").write_text(
        "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"S{s},Stop {s},{50 + s / 1e4:.5f},{10 + s / 1e4:.5f}\n" for s in range(stops))
    )
    (folder / "routes.txt").write_text(
        "route_id,agency_id,route_short_name,route_type\n" + "".join(f"R{r},A,{r},3\n" for r in range(routes))
    )
    trips, times = (
        ["route_id,service_id,trip_id,trip_headsign\n"],
        ["trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"],
    )
    for r in range(routes):
        for t in range(trips_per_route):
            trip = f"R{r}-T{t}"
            trips.append(f"R{r},D,{trip},To {r}{tag}\n")
            for seq in range(20):
                minute = 300 + t * 10 + seq * 2
                hhmm = f"{minute // 60:02d}:{minute % 60:02d}:00"
                times.append(f"{trip},{hhmm},{hhmm},S{(r * 7 + seq) % stops},{seq + 1}\n")
    (folder / "trips.txt").write_text("".join(trips))
    (folder / "stop_times.txt").write_text("".join(times))
    return folder
