"""A small feed holding the quirks real feeds have, written by the tests that use it.

- IDs with `+`, `@`, `#`, `/`, spaces, Cyrillic, CJK and Arabic letters, and IDs whose byte order differs
  from a linguistic order (`b` before `C` in one, after it in the other);
- a parent_station not in the feed and a shape_id without shape points (dangling soft references);
- services from calendar.txt alone, calendar_dates.txt alone, and both;
- stop_sequence starting at 0 with gaps, and a loop trip that calls at one stop twice.
"""

from __future__ import annotations

ODD_STOPS = ("a b@c#d+e", "Hbf/Gleis 1", "Остановка", "東京駅", "محطة", "C", "b")
ODD_ROUTE, LOOP_ROUTE = "M+1 @#/x", "Кольцо"
LOOP_TRIP, LOOP_STOP = "loop#1", "東京駅"
DANGLING_PARENT, DANGLING_SHAPE = "GHOST", "no-points"

QUIRK_FEED: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Agency,https://a.example,Europe/Berlin\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "a b@c#d+e,Space at hash plus,52.50,13.40,0,\n"
        "Hbf/Gleis 1,Slash,52.51,13.41,0,Hbf\n"
        "Hbf,Hauptbahnhof,52.51,13.41,1,\n"
        "Остановка,Cyrillic,52.52,13.42,0,GHOST\n"
        "東京駅,CJK,52.53,13.43,0,\n"
        "محطة,Arabic,52.54,13.44,0,\n"
        "C,Upper C,52.55,13.45,0,\n"
        "b,Lower b without trips,52.56,13.46,0,\n"
    ),
    "routes.txt": (
        "route_id,agency_id,route_short_name,route_type\nM+1 @#/x,A,M1,3\nКольцо,A,K,3\nb,A,b,3\n"
    ),
    "trips.txt": (
        "route_id,service_id,trip_id,shape_id\n"
        "M+1 @#/x,cal only,t/1+2,line\n"
        "M+1 @#/x,dates only,t@2,no-points\n"
        "Кольцо,both,loop#1,\n"
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t/1+2,08:00:00,08:00:00,a b@c#d+e,0\n"
        "t/1+2,08:05:00,08:05:00,Hbf/Gleis 1,5\n"
        "t/1+2,08:09:00,08:10:00,Остановка,17\n"
        "t@2,09:00:00,09:00:00,محطة,3\n"
        "t@2,09:07:00,09:07:00,C,4\n"
        "loop#1,10:00:00,10:00:00,東京駅,0\n"
        "loop#1,10:10:00,10:10:00,محطة,10\n"
        "loop#1,10:20:00,10:20:00,東京駅,20\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "cal only,1,1,1,1,1,0,0,20260101,20261231\n"
        "both,0,0,0,0,0,1,1,20260101,20261231\n"
    ),
    "calendar_dates.txt": (
        "service_id,date,exception_type\n"
        "dates only,20260501,1\n"
        "dates only,20260502,1\n"
        "both,20261225,1\n"
        "both,20261226,2\n"
    ),
    "shapes.txt": (
        "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\nline,52.50,13.40,1\nline,52.52,13.42,2\n"
    ),
}
