"""A small feed for timetables and maps, written by the tests that use it (dates: 2026-03-02 to 03-29).

- BR, direction 0: a trunk (S1-S5), a branch leaving it after S3 (S6, S7), a short turn (S2-S4) with a
  non-timepoint stop, on weekdays; the trunk again at weekends (a calendar_dates-only service: every
  Saturday and Sunday plus one holiday Monday) without a shape_id; a holiday-only trip (two dates, on no
  weekday often enough). Direction 1: three trips back, one with a dangling shape_id, one whose shape has a
  single point, one without shape_id; a trip of a service that never runs. One trip without direction_id.
- LP: a loop (S1 S8 S9 S1) and a trip along part of it.
- FQ: a frequency-based trip (two frequencies.txt rows, out of order; exact_times empty and 1) between
  two scheduled trips, its stop times a template starting after its first start_time.
- ZZ: three patterns that progressive merging alone would order with a stop twice (T1 T2 T3 T4, T1 TX T3,
  TX T2), though one order keeps every stop once: T1 TX T2 T3 T4.
- shapes.txt rows out of shape_pt_sequence order; a node (location_type 3) without coordinates.
"""

from __future__ import annotations

from datetime import date, timedelta

START, END = date(2026, 3, 2), date(2026, 3, 29)
WEEKEND_DATES = [START + timedelta(days=n) for n in range(28) if (START + timedelta(days=n)).weekday() >= 5]
HOLIDAY_MONDAY = date(2026, 3, 16)
HOLIDAY_ONLY = [date(2026, 3, 6), date(2026, 3, 25)]  # a Friday and a Wednesday

STOPS = {  # stop_id: (lat, lon)
    "S1": (52.5001, 13.4001),
    "S2": (52.5012, 13.4023),
    "S3": (52.5024, 13.4045),
    "S4": (52.5036, 13.4067),
    "S5": (52.5048, 13.4089),
    "S6": (52.5060, 13.4011),
    "S7": (52.5072, 13.4033),
    "S8": (52.4990, 13.3990),
    "S9": (52.4980, 13.3980),
    "T1": (52.51, 13.41),
    "T2": (52.52, 13.42),
    "T3": (52.53, 13.43),
    "T4": (52.54, 13.44),
    "TX": (52.515, 13.415),
    "ST": (52.49, 13.39),
}
SHAPES = {  # shape_id: [(lon, lat)] in shape_pt_sequence order
    "sh_main": [
        (13.4001, 52.5001),
        (13.4010, 52.5005),
        (13.4023, 52.5012),
        (13.4045, 52.5024),
        (13.4089, 52.5048),
    ],
    "sh_branch": [(13.4001, 52.5001), (13.4045, 52.5024), (13.4033, 52.5072)],
    "one_pt": [(13.4, 52.5)],
}
DANGLING_SHAPE = "GHOST"

# trip_id: (route_id, service_id, direction_id, shape_id, [(stop_id, arrival, departure)])
TRIPS = {
    "BR-main-0700": (
        "BR",
        "WD",
        "0",
        "sh_main",
        [
            ("S1", "", "7:00:00"),
            ("S2", "07:05:00", "07:05:00"),
            ("S3", "07:09:00", "07:10:00"),
            ("S4", "07:15:00", "07:15:00"),
            ("S5", "07:20:00", ""),
        ],
    ),
    "BR-branch-0730": (
        "BR",
        "WD",
        "0",
        "sh_branch",
        [
            ("S1", "07:30:00", "07:30:00"),
            ("S2", "07:35:00", "07:35:00"),
            ("S3", "07:40:00", "07:40:00"),
            ("S6", "07:46:00", "07:46:00"),
            ("S7", "07:52:00", "07:52:00"),
        ],
    ),
    "BR-short-0800": (
        "BR",
        "WD",
        "0",
        "sh_main",
        [("S2", "08:00:00", "08:00:00"), ("S3", "", ""), ("S4", "08:10:00", "08:10:00")],
    ),
    "BR-we-0900": (
        "BR",
        "WKND",
        "0",
        "",
        [(s, f"09:0{i}:00", f"09:0{i}:00") for i, s in enumerate(["S1", "S2", "S3", "S4", "S5"])],
    ),
    "BR-hol-1200": ("BR", "HOL", "0", "", [("S1", "12:00:00", "12:00:00"), ("S2", "12:05:00", "12:05:00")]),
    "BR-back-1700": (
        "BR",
        "WD",
        "1",
        DANGLING_SHAPE,
        [(s, f"17:0{i}:00", f"17:0{i}:00") for i, s in enumerate(["S5", "S4", "S3", "S2", "S1"])],
    ),
    "BR-back-1800": (
        "BR",
        "WD",
        "1",
        "one_pt",
        [(s, f"18:0{i}:00", f"18:0{i}:00") for i, s in enumerate(["S5", "S4", "S3", "S2", "S1"])],
    ),
    "BR-back-1900": (
        "BR",
        "WD",
        "1",
        "",
        [(s, f"19:0{i}:00", f"19:0{i}:00") for i, s in enumerate(["S5", "S4", "S3", "S2", "S1"])],
    ),
    "BR-never": ("BR", "NEVER", "1", "", [("S2", "20:00:00", "20:00:00"), ("S1", "20:05:00", "20:05:00")]),
    "BR-nodir-1000": (
        "BR",
        "WD",
        "",
        "",
        [("S1", "10:00:00", "10:00:00"), ("S3", "10:05:00", "10:05:00"), ("S5", "10:10:00", "10:10:00")],
    ),
    "LP-1": (
        "LP",
        "WD",
        "0",
        "",
        [
            ("S1", "06:00:00", "06:00:00"),
            ("S8", "06:05:00", "06:05:00"),
            ("S9", "06:10:00", "06:10:00"),
            ("S1", "06:15:00", "06:15:00"),
        ],
    ),
    "LP-2": (
        "LP",
        "WD",
        "0",
        "",
        [("S8", "06:35:00", "06:35:00"), ("S9", "06:40:00", "06:40:00"), ("S1", "06:45:00", "06:45:00")],
    ),
    "FQ-s": ("FQ", "WD", "0", "", [("S1", "05:30:00", "05:30:00"), ("S9", "05:40:00", "05:40:00")]),
    "FQ-f": ("FQ", "WD", "0", "", [("S1", "08:00:00", "08:00:00"), ("S9", "08:10:00", "08:10:00")]),
    "FQ-t": ("FQ", "WD", "0", "", [("S1", "07:00:00", "07:00:00"), ("S9", "07:10:00", "07:10:00")]),
    "ZZ-1": (
        "ZZ",
        "WD",
        "0",
        "",
        [(s, f"11:0{i}:00", f"11:0{i}:00") for i, s in enumerate(["T1", "T2", "T3", "T4"])],
    ),
    "ZZ-2": (
        "ZZ",
        "WD",
        "0",
        "",
        [(s, f"12:0{i}:00", f"12:0{i}:00") for i, s in enumerate(["T1", "TX", "T3"])],
    ),
    "ZZ-3": ("ZZ", "WD", "0", "", [(s, f"13:0{i}:00", f"13:0{i}:00") for i, s in enumerate(["TX", "T2"])]),
}
FREQUENCIES = [("FQ-f", "10:00:00", "12:00:00", 1800, "1"), ("FQ-f", "06:00:00", "10:00:00", 600, "")]


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def timetable_feed() -> dict[str, str]:
    stops = "".join(f"{s},Stop {s},{lat},{lon},{1 if s == 'ST' else 0},\n" for s, (lat, lon) in STOPS.items())
    stop_times = "".join(
        f"{t},{arr},{dep},{s},{i + 1}\n"
        for t, (_, _, _, _, calls) in TRIPS.items()
        for i, (s, arr, dep) in enumerate(calls)
    )
    shape_rows = [
        f"{sid},{lat},{lon},{i + 1}\n" for sid, pts in SHAPES.items() for i, (lon, lat) in enumerate(pts)
    ]
    dates = [f"WKND,{_ymd(d)},1\n" for d in [*WEEKEND_DATES, HOLIDAY_MONDAY]] + [
        f"HOL,{_ymd(d)},1\n" for d in HOLIDAY_ONLY
    ]
    return {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Agency,https://a.example,Europe/Berlin\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        + stops
        + "NODE,Walkway node,,,3,ST\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type,route_color\n"
        "BR,A,BR,3,D32F2F\nLP,A,LP,3,\nFQ,A,FQ,3,\nZZ,A,ZZ,3,\n",
        "trips.txt": "route_id,service_id,trip_id,direction_id,shape_id\n"
        + "".join(f"{r},{svc},{t},{d},{sh}\n" for t, (r, svc, d, sh, _) in TRIPS.items()),
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + stop_times,
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        f"WD,1,1,1,1,1,0,0,{_ymd(START)},{_ymd(END)}\nNEVER,0,0,0,0,0,0,0,{_ymd(START)},{_ymd(END)}\n",
        "calendar_dates.txt": "service_id,date,exception_type\n" + "".join(dates),
        "frequencies.txt": "trip_id,start_time,end_time,headway_secs,exact_times\n"
        + "".join(f"{t},{a},{b},{h},{e}\n" for t, a, b, h, e in FREQUENCIES),
        # out of shape_pt_sequence order: the map must follow the sequence, not the file
        "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
        + "".join(reversed(shape_rows)),
    }
