"""Small feeds for the departure boards' rules, written by the tests that use them (America/New_York).

DST_FEED: one stop, a 01:30 and a 25:30 trip every day, around 2026-03-08 (spring forward) and 2026-11-01
(fall back).

RULES_FEED, for a window of 2026-04-06 (Easter Monday: weekday service removed, a holiday service that
only calendar_dates.txt defines added) and 2026-04-07:
- a loop trip calling at LOOP twice;
- station STA with three platforms P1, P2, P3 and an entrance;
- CHI with its own stop_timezone (America/Chicago) and a visit at 24:30 New York time;
- non-timepoint stops N1, N2 on a trip with shape_dist_traveled and on one without, and on a trip with
  no timed stop after them;
- a frequency trip with exact_times 0 and one with exact_times 1 whose first departure is not its
  frequency's start;
- a service that never runs (only removed in calendar_dates.txt).
"""

from __future__ import annotations

AGENCY = "agency_id,agency_name,agency_url,agency_timezone\nA,Agency,https://a.example,America/New_York\n"

DST_FEED: dict[str, str] = {
    "agency.txt": AGENCY,
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Night stop,40.7,-74.0\nB,Next,40.8,-74.0\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nN,A,N,3\n",
    "trips.txt": "route_id,service_id,trip_id\nN,D,early\nN,D,late\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "early,01:30:00,01:30:00,A,1\n"
        "early,01:40:00,01:40:00,B,2\n"
        "late,25:30:00,25:30:00,A,1\n"
        "late,25:40:00,25:40:00,B,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,1,1,20260101,20261231\n"
    ),
}

RULES_FEED: dict[str, str] = {
    "agency.txt": AGENCY,
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,stop_timezone\n"
        "STA,Central,40.70,-74.00,1,,\n"
        "P1,Central 1,40.70,-74.00,0,STA,\n"
        "P2,Central 2,40.70,-74.00,0,STA,\n"
        "P3,Central 3,40.70,-74.00,0,STA,\n"
        "ENT,Central entrance,40.70,-74.00,2,STA,\n"
        "LOOP,Loop,40.71,-74.01,0,,\n"
        "CHI,Far away,41.88,-87.63,0,,America/Chicago\n"
        "N1,Between 1,40.72,-74.02,0,,\n"
        "N2,Between 2,40.73,-74.03,0,,\n"
        "END,End,40.74,-74.04,0,,\n"
    ),
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\nR2,A,2,3\n",
    "trips.txt": (
        "route_id,service_id,trip_id,trip_headsign,direction_id\n"
        "R1,WD,t-loop,Loop,0\n"
        "R1,WD,t-late,Chicago,0\n"
        "R1,HOL,t-hol,Holiday,1\n"
        "R1,WD,t-dist,End,0\n"
        "R1,WD,t-count,End,0\n"
        "R1,WD,t-tail,Nowhere,0\n"
        "R2,WD,f-0,End,1\n"
        "R2,WD,f-1,End,1\n"
        "R2,GONE,t-gone,Never,1\n"
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type,"
        "shape_dist_traveled,timepoint\n"
        "t-loop,08:00:00,08:00:00,LOOP,1,,1,,\n"
        "t-loop,08:10:00,08:11:00,P1,2,,,,\n"
        "t-loop,08:20:00,08:20:00,LOOP,3,1,,,\n"
        "t-late,23:30:00,23:30:00,P2,1,,,,\n"
        "t-late,24:30:00,,CHI,2,1,1,,\n"
        "t-hol,10:00:00,10:00:00,P3,1,,,,\n"
        "t-hol,10:30:00,10:30:00,END,2,,,,\n"
        "t-dist,12:00:00,12:00:00,P1,1,,,0,1\n"
        "t-dist,,,N1,2,,,1,0\n"
        "t-dist,,,N2,3,,,2.5,0\n"
        "t-dist,12:10:00,12:10:00,END,4,,,7,0\n"
        "t-count,13:00:00,13:00:00,P1,1,,,,\n"
        "t-count,,,N1,2,,,,\n"
        "t-count,,,N2,3,,,,\n"
        "t-count,13:10:00,13:10:00,END,4,,,,\n"
        "t-tail,14:00:00,14:00:00,P1,1,,,,\n"
        "t-tail,,,N1,2,,,,\n"
        "f-0,06:00:00,06:00:00,P2,1,,,,\n"
        "f-0,06:05:00,06:05:00,END,2,,,,\n"
        "f-1,05:00:00,05:01:00,P3,1,,,,\n"
        "f-1,05:10:00,05:10:00,END,2,,,,\n"
        "t-gone,09:00:00,09:00:00,P1,1,,,,\n"
    ),
    "frequencies.txt": (
        "trip_id,start_time,end_time,headway_secs,exact_times\n"
        "f-0,06:00:00,07:00:00,1200,0\n"
        "f-1,07:00:00,07:30:00,900,1\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WD,1,1,1,1,1,0,0,20260101,20261231\n"
    ),
    "calendar_dates.txt": (
        "service_id,date,exception_type\nWD,20260406,2\nHOL,20260406,1\nGONE,20260407,2\n"
    ),
}

# A platform with a stop_timezone of its own inside a station without one: the rule (the station's
# stop_timezone, else the stop's own, else the agency's) gives the platform Chicago time, where the
# departures oracle's reading (parent's, else the feed's) gives New York time; no shared feed has such a stop.
OWN_ZONE_PLATFORM_FEED: dict[str, str] = dict(
    DST_FEED,
    **{
        "stops.txt": (
            "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,stop_timezone\n"
            "A,Station,40.7,-74.0,1,,\n"
            "B,Next,40.8,-74.0,0,,\n"
            "X,Platform,40.7,-74.0,0,A,America/Chicago\n"
        ),
        "stop_times.txt": (
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
            "early,01:30:00,01:30:00,X,1\n"
            "early,01:40:00,01:40:00,B,2\n"
        ),
        "trips.txt": "route_id,service_id,trip_id\nN,D,early\n",
    },
)
