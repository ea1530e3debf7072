"""`build --site`: the pages made from a real build, their links, their HTML, and hostile names."""

from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import html5lib
import orjson
import pytest

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from builder.release.output import Raw
from builder.site import stop_weeks, tables
from builder.site.svgmap import contrast, text_colour
from builder.snapshot.board_week import WeekRows, cell, clock_time, full_time, parse, parse_first_day, script
from builder.snapshot.keys import key_for
from builder.snapshot.kinds import kind
from tests.conftest import TIMETABLE_ORACLE, assert_oracle_agrees
from tests.departure_feeds import DST_FEED, RULES_FEED
from tests.site.conftest import HOSTILE, HOSTILE_ROUTE, WINDOW_FROM, site_release
from tests.test_import_support import write_feed

MAX_PAGE_BYTES = 2_000_000


def week(root: Path, key: str) -> dict[str, Any]:
    """A stop's week of boards, the script its page loads (stops/<key>.js)."""
    found = parse((root / "stops" / f"{key}.js").read_bytes())
    assert found is not None, key
    return found


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and not value.startswith(("data:", "http:", "https:")):
                self.targets.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def pages(release: Path) -> list[Path]:
    return sorted(release.rglob("*.html"))


def manifest(release: Path) -> dict[str, dict[str, object]]:
    return {e["path"]: e for e in orjson.loads((release / "manifest.json").read_bytes())["documents"]}


def test_site_has_a_page_for_every_route_and_stop(site_build: Path) -> None:
    routes = orjson.loads((site_build / "routes.json").read_bytes())["routes"]
    stops = orjson.loads((site_build / "stops.json").read_bytes())["stops"]
    listed = manifest(site_build)
    expected = {
        "index.html",
        *(r["href"][:-5] + ".html" for r in routes),
        *(s["href"][:-5] + ".html" for s in stops),
    }
    assert expected <= {p for p, e in listed.items() if str(e["kind"]).endswith("_page")}
    assert listed["routes/B41.html"]["id"] == "B41" and listed["routes/B41.html"]["kind"] == "route_page"
    assert listed["stops/HBF.html"]["kind"] == "stop_page" and listed["index.html"]["kind"] == "index_page"
    media = {p: e["media_type"] for p, e in listed.items()}
    assert {p for p in media if p.endswith(".html")} == expected
    assert all(media[p] == "text/html; charset=utf-8" for p in expected)
    assert media["site/site.css"] == "text/css; charset=utf-8"
    assert media["site/site.js"] == media["site/search_index.js"] == "text/javascript; charset=utf-8"
    index = (site_build / "index.html").read_text()
    for route in routes:
        assert f'href="{route["href"][:-5]}.html"' in index


@pytest.mark.parametrize("release", ["site_build", "without_boards", "caltrain_site"])
def test_site_links_resolve_inside_the_release(release: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(release)
    listed = manifest(root)
    for page in pages(root):
        parser = Links()
        parser.feed(page.read_text())
        base = page.relative_to(root).as_posix()
        for target in parser.targets:
            resolved = urljoin(f"http://x/{base}", target.split("#")[0]).removeprefix("http://x/")
            assert resolved in listed, f"{base} links to {target}, which is not in the release"


@pytest.mark.parametrize("release", ["site_build", "without_boards", "caltrain_site"])
def test_site_pages_are_html5_without_parse_errors(release: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(release)
    for page in pages(root):
        parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
        document = parser.parse(page.read_bytes())  # raises on any parse error, a missing doctype included
        html = document if document.tag == "html" else document.find("html")
        assert html is not None and html.get("lang") == "en", page
        head = html.find("head")
        assert head is not None
        metas = {m.get("name") or m.get("charset") for m in head.iter("meta")}
        assert {"viewport", "utf-8"} <= metas, page
        assert len(page.read_bytes()) < MAX_PAGE_BYTES


def test_site_takes_nothing_from_outside_the_release(site_build: Path) -> None:
    for page in pages(site_build):
        text = page.read_text()
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text):
            assert "http" not in tag, (page, tag)
    assert "http" not in (site_build / "site" / "site.css").read_text()


@pytest.mark.parametrize("release", ["site_build", "caltrain_site"])
def test_site_route_page_tables_hold_every_trip_of_the_route(
    release: str, request: pytest.FixtureRequest
) -> None:
    site_build: Path = request.getfixturevalue(release)
    for route in orjson.loads((site_build / "routes.json").read_bytes())["routes"]:
        key = route["href"][len("routes/") : -len(".json")]
        tree = orjson.loads((site_build / route["href"]).read_bytes())
        page = (site_build / "routes" / f"{key}.html").read_text()
        shown = re.findall(r'data-trip="([^"]*)"', page)
        expected = sorted(t["trip_id"] for t in tree["trips"])
        assert sorted(html.unescape(t) for t in shown) == expected, key
        timetable = orjson.loads((site_build / "timetables" / f"{key}.json").read_bytes())
        assert page.count("<table") == len(timetable["timetables"])


def test_site_frequency_trips_say_every_n_minutes(site_build: Path) -> None:
    trees = [orjson.loads(p.read_bytes()) for p in sorted((site_build / "routes").glob("*.json"))]
    frequent = [(tree, trip) for tree in trees for trip in tree["trips"] if trip.get("frequencies")]
    assert frequent, "the sample feed has frequency-based trips"
    for tree, trip in frequent:
        page = (site_build / tree["route"]["href"].replace(".json", ".html")).read_text()
        minutes = trip["frequencies"][0]["headway_secs"] / 60
        assert f"every {minutes:g} minutes" in page


def test_site_stop_page_holds_the_first_days_board(site_build: Path) -> None:
    feed = orjson.loads((site_build / "feed.json").read_bytes())
    first = feed["departures"]["from"]
    checked = 0
    for stop in orjson.loads((site_build / "stops.json").read_bytes())["stops"]:
        key = key_for(stop["stop_id"])
        board = orjson.loads((site_build / "departures" / first / f"{key}.json").read_bytes())
        page = (site_build / "stops" / f"{key}.html").read_text()
        body = page.split('id="board"', 1)[1].split("</tbody>", 1)[0] if board["departures"] else ""
        assert body.count("<tr>") == len(board["departures"]) + (1 if board["departures"] else 0), key
        data = week(site_build, key)
        assert f'<script src="../stops/{key}.js" defer>' in page
        assert data["dates"] == [first, *sorted(data["days"])[1:]]
        assert len(data["days"][first]) == len(board["departures"])
        checked += bool(board["departures"])
    assert checked >= 5


@pytest.mark.parametrize("release", ["site_build", "caltrain_site"])
def test_site_stop_weeks_are_the_boards_rows(release: str, request: pytest.FixtureRequest) -> None:
    """The weeks the boards pass writes from the departures it holds are, byte for byte, what the
    boards' JSON gives (the merge of shards' way): HTML, weeks and boards never disagree."""
    root: Path = request.getfixturevalue(release)
    made: dict[str, bytes] = {}
    for _, stop_id, doc in stop_weeks(root):
        assert isinstance(doc, Raw) and stop_id is not None
        made[stop_id] = b"".join(doc.pieces())
    assert len(made) == len(orjson.loads((root / "stops.json").read_bytes())["stops"])
    for stop_id, data in made.items():
        assert (root / kind("stop_week").path(stop_id)).read_bytes() == data, stop_id


def week_times_against_boards(root: Path) -> tuple[int, int]:
    """Asserts every row of every stop's week, its short time completed by its date and offset, is its
    board's departure time (its arrival's when it only arrives), in board order; (rows, short rows)."""
    rows = short = 0
    for stop in orjson.loads((root / "stops.json").read_bytes())["stops"]:
        key = key_for(stop["stop_id"])
        data = week(root, key)
        for day in data["dates"]:
            board = orjson.loads((root / "departures" / day / f"{key}.json").read_bytes())["departures"]
            times = [full_time(day, row[0], data["offsets"]) for row in data["days"][day]]
            assert times == [d["departure"] or d["arrival"] for d in board], (key, day)
            rows += len(times)
            short += sum(len(row[0]) == len("HH:MM:SS") for row in data["days"][day])
    return rows, short


@pytest.mark.parametrize("release", ["site_build", "caltrain_site"])
def test_site_week_times_are_the_boards_times(release: str, request: pytest.FixtureRequest) -> None:
    rows, short = week_times_against_boards(request.getfixturevalue(release))
    assert rows > 0 and short > rows * 0.9, (short, rows)  # the short form is the usual one


@pytest.mark.parametrize(
    ("feed", "first", "mixed"),
    [
        (DST_FEED, date(2026, 3, 7), False),  # the 8th's two departures are both before the change
        (DST_FEED, date(2026, 10, 31), True),  # 01:30 EDT, then 01:30 EST on the 1st
        (RULES_FEED, date(2026, 4, 6), False),  # a stop in Chicago, a station's platforms
    ],
    ids=["spring-forward", "fall-back", "own-zones-and-stations"],
)
def test_site_week_times_hold_across_clock_changes_and_zones(
    feed: dict[str, str], first: date, mixed: bool, tmp_path: Path
) -> None:
    """On the night the clocks fall back, a date's rows at its other offset keep their whole time; the
    completed times are the boards' on every night and in every zone."""
    url = f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    import_feed(write_feed(tmp_path / "feed", feed), db_url=url)
    settings = BuildSettings(
        db_url=url, out_dir=tmp_path / "out", workers=1, site=True, departures_from=first, departures_days=3
    )
    rows, short = week_times_against_boards(build(settings).release)
    assert short > 0 and (rows > short) == mixed, (rows, short)


def test_site_week_times_shorten_only_what_the_row_date_and_offset_give() -> None:
    """Each of a time's four forms (on the row's date or not, at the date's usual offset or not) comes
    back whole from full_time, and shows its own clock time."""
    times = [
        "2026-11-01T00:30:00-04:00",  # the first row on the date: its offset is the usual one
        "2026-11-01T01:30:00-05:00",  # on the date, after the clocks fell back: keeps its offset
        "2026-10-31T23:45:00-04:00",  # a platform's own zone, the day before, at the usual offset
        "2026-10-31T22:50:00-06:00",  # another zone, date and offset
        "2026-11-01T23:10:00-05:00",
    ]
    visit = cell("R1", "Downtown", "S1", {"departure": 0})
    day = [(n, "t", 1, b"{}", orjson.dumps(t), visit) for n, t in enumerate(times)]
    data = parse(b"".join(WeekRows({}, lambda r: [r, "", "", "", ""]).document(["20261101"], [day])))
    assert data is not None and data["offsets"] == {"20261101": "-04:00"}
    written = [row[0] for row in data["days"]["20261101"]]
    assert written == ["00:30:00", "01:30:00-05:00", "2026-10-31T23:45:00", times[3], "23:10:00-05:00"]
    assert [full_time("20261101", w, data["offsets"]) for w in written] == times
    assert [clock_time(w) for w in written] == ["00:30", "01:30", "23:45", "22:50", "23:10"]


def first_day_of(found: dict[str, Any]) -> dict[str, Any]:
    dates = found["dates"]
    return {**found, "days": {dates[0]: found["days"][dates[0]]} if dates else {}}


@pytest.mark.parametrize("release", ["site_build", "caltrain_site", "hostile_site"])
def test_site_week_first_day_read_agrees_with_the_whole_week(
    release: str, request: pytest.FixtureRequest
) -> None:
    """A stop page reads only its week's first day (board_week.parse_first_day): the same as the
    whole week parsed and cut to that day, on every stop of real and hostile builds."""
    root: Path = request.getfixturevalue(release)
    weeks = sorted((root / "stops").glob("*.js"))
    assert weeks
    for path in weeks:
        data = path.read_bytes()
        whole = parse(data)
        assert whole is not None
        assert parse_first_day(data) == first_day_of(whole), path.name


@pytest.mark.parametrize("dates", [[], ["20260301"], ["20260301", "20260302", "20260303"]])
def test_site_week_first_day_read_is_not_fooled_by_names(dates: list[str]) -> None:
    """Names that spell the cuts parse_first_day looks for stay inside their strings."""
    tricky = ['},"headsigns":["x"]', ',"20260302":[[1]]', '"quoted", \\ back', "plain"]
    days = [orjson.dumps([["2026-03-01T05:00:00+01:00", 0, n, 0, tricky[n]] for n in range(4)])] * len(dates)
    data = b"".join(script(dates, days, (tricky, tricky, [tricky]), dict.fromkeys(dates, "+01:00")))
    whole = parse(data)
    assert whole is not None and whole["headsigns"] == tricky
    assert parse_first_day(data) == first_day_of(whole)
    assert parse_first_day(data[:-3]) is None  # not a week: parsed whole, refused the same way


def test_site_names_from_the_feed_render_as_text(hostile_site: Path) -> None:
    stop_page = (hostile_site / "stops" / "~43ON.html").read_text()
    route_page = (hostile_site / "routes" / "X9.html").read_text()
    for page in pages(hostile_site):
        text = page.read_text()
        assert "<script>alert" not in text and "<img" not in text, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in stop_page
    parser = Links()
    parser.feed(stop_page)
    assert HOSTILE in "".join(parser.text)
    parser = Links()
    parser.feed(route_page)
    assert HOSTILE_ROUTE in "".join(parser.text)
    for inline in ("site/search_index.js",):
        assert "</script" not in (hostile_site / inline).read_text()
    # the stop's week (a script of its own, not inside the page) holds the headsign as a JSON string,
    # and the page's table shows it as text
    assert HOSTILE in week(hostile_site, "NORD")["headsigns"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (hostile_site / "stops" / "NORD.html").read_text()


def test_site_build_is_deterministic(sample_db: str, tmp_path: Path) -> None:
    window = {"departures_from": WINDOW_FROM, "departures_days": 2}
    first = build(BuildSettings(db_url=sample_db, out_dir=tmp_path / "a", workers=1, site=True, **window))
    second = build(BuildSettings(db_url=sample_db, out_dir=tmp_path / "b", workers=2, site=True, **window))
    assert first.build_id == second.build_id
    plain = build(BuildSettings(db_url=sample_db, out_dir=tmp_path / "c", workers=1))
    assert plain.build_id != first.build_id and "page" not in plain.documents


def test_site_splits_long_timetables_into_parts_under_the_budget() -> None:
    stops = [{"stop_id": f"S{i}", "stop_name": f"Stop {i}", "href": f"stops/S{i}.json"} for i in range(40)]
    trips = [
        {
            "trip_id": f"T{t}",
            "service_id": "D",
            "href": f"trips/T{t}.json",
            "frequencies": [],
            "times": [f"{5 + t // 60:02d}:{t % 60:02d}:00"] * 40,
        }
        for t in range(2300)
    ]
    table = {
        "direction_id": 0,
        "days": ["monday"],
        "label": "Monday",
        "headsigns": ["Somewhere"],
        "stops": stops,
        "trips": trips,
    }
    parts = tables.parts([table, {**table, "direction_id": 1}], max_cells=10_000)
    assert all(len(p.trips) * len(stops) <= 10_000 for p in parts)
    for direction in (0, 1):
        mine = [p for p in parts if p.table["direction_id"] == direction]
        assert [t["trip_id"] for p in mine for t in p.trips] == [t["trip_id"] for t in trips]
        assert [p.number for p in mine] == list(range(1, len(mine) + 1)) and mine[0].of == len(mine)
    html = "".join(tables.table_html(parts[0], "../"))
    assert len(html.encode()) < 10_000 * 12
    assert "part 1 of" in parts[0].caption()


def test_site_badge_text_is_readable_on_the_route_colour() -> None:
    # the feed's pair when it reads well enough (WCAG AA 4.5:1), else black or white
    assert text_colour({"route_color": "000000", "route_text_color": "FFFF00"}) == "#FFFF00"
    assert text_colour({"route_color": "1E88E5", "route_text_color": "FFFFFF"}) == "#000000"
    assert text_colour({"route_color": "0D2C54"}) == "#FFFFFF"
    assert text_colour({"route_color": "not a colour", "route_text_color": None}) == "#FFFFFF"
    assert round(contrast("#FFFFFF", "#1E88E5"), 2) == 3.68


def test_site_pages_are_verified_bundled_and_compressed_like_documents(
    sample_db: str, tmp_path: Path
) -> None:
    import gzip

    from builder.release.bundle import bundle, verify
    from builder.release.output import OutputLayout

    result = build(
        BuildSettings(
            db_url=sample_db, out_dir=tmp_path / "out", workers=1, site=True, compress=("br", "gzip")
        )
    )
    listed = manifest(result.release)
    index = listed["index.html"]
    assert index["kind"] == "index_page" and set(index["encodings"]) == {"br", "gzip"}  # type: ignore[arg-type]
    sidecar = result.release / index["encodings"]["gzip"]["path"]  # type: ignore[index]
    assert gzip.decompress(sidecar.read_bytes()) == (result.release / "index.html").read_bytes()
    assert verify(result.release) == result.build_id
    bundle(OutputLayout(tmp_path / "out"), tmp_path / "site.tar.gz")
    assert verify(tmp_path / "site.tar.gz") == result.build_id


def test_site_long_timetables_get_pages_of_their_own(tmp_path: Path) -> None:
    from builder.importer.run import import_feed
    from tests.synthetic import write_feed

    feed = write_feed(tmp_path / "feed", routes=1, trips_per_route=1, stops=25)
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"]
    for t in range(1600):  # a trip every 30 s from 05:00, 20 stops each: 32,000 cells
        for seq in range(20):
            at = 18000 + t * 30 + seq * 60
            hhmmss = f"{at // 3600:02d}:{at // 60 % 60:02d}:{at % 60:02d}"
            times.append(f"R0-T{t},{hhmmss},{hhmmss},S{seq},{seq + 1}\n")
    (feed / "trips.txt").write_text(
        "route_id,service_id,trip_id,trip_headsign\n"
        + "".join(f"R0,D,R0-T{t},Far away\n" for t in range(1600))
    )
    (feed / "stop_times.txt").write_text("".join(times))
    url = f"sqlite:///{tmp_path / 'long.sqlite'}"
    import_feed(feed, db_url=url)
    release = site_release(url, tmp_path / "out", days=0)
    route_page = (release / "routes" / "R0.html").read_text()
    links = re.findall(r'href="\.\./(tables/R0\.\d+\.html)"', route_page)
    assert links and "<table" not in route_page
    trips: list[str] = []
    for link in links:
        page = (release / link).read_text()
        assert page.count("<table") == 1 and len(page.encode()) < MAX_PAGE_BYTES
        assert 'href="../routes/R0.html"' in page
        html5lib.HTMLParser(strict=True).parse(page)
        trips += re.findall(r'data-trip="([^"]*)"', page)
    assert sorted(trips) == sorted(f"R0-T{t}" for t in range(1600))
    # the parts are pages, not timetables (no file of theirs under timetables/): the independent checker
    # of timetables agrees
    if not TIMETABLE_ORACLE.exists():
        pytest.skip(f"the oracles are not beside the repo ({TIMETABLE_ORACLE} is absent)")
    assert_oracle_agrees(TIMETABLE_ORACLE, feed, release)


def test_site_board_notes_say_what_differs_from_a_plain_departure() -> None:
    from builder.snapshot.board_week import note

    plain = {
        "departure": "2026-03-06T07:00:00+01:00",
        "arrival": None,
        "pickup_type": 0,
        "drop_off_type": 0,
        "estimated": False,
        "frequency": None,
    }
    assert note(plain) == ""
    assert note({**plain, "departure": None, "arrival": "2026-03-06T07:00:00+01:00"}) == "arrives only"
    assert note({**plain, "pickup_type": 1}) == "no boarding"
    assert note({**plain, "drop_off_type": 1}) == "boarding only"
    assert note({**plain, "pickup_type": 1, "drop_off_type": 1}) == "no boarding or alighting"
    assert note({**plain, "pickup_type": 2}) == "boarding: phone the agency"
    assert note({**plain, "drop_off_type": 3}) == "alighting: ask the driver"
    assert note({**plain, "estimated": True}) == "estimated time"
    freq = {"start_time": "07:00:00", "headway_secs": 600, "exact_times": 0}
    assert note({**plain, "frequency": freq}) == "about every 10 min"
    assert note({**plain, "frequency": {**freq, "exact_times": 1}}) == ""


@pytest.mark.parametrize("release", ["site_build", "caltrain_site"])
def test_site_stop_page_shows_the_real_boards_rows_and_notes(
    release: str, request: pytest.FixtureRequest
) -> None:
    from builder.snapshot.board_week import note

    root: Path = request.getfixturevalue(release)
    window = orjson.loads((root / "feed.json").read_bytes())["departures"]
    first, shown = window["from"], 0
    for stop in orjson.loads((root / "stops.json").read_bytes())["stops"]:
        key = key_for(stop["stop_id"])
        departures = orjson.loads((root / "departures" / first / f"{key}.json").read_bytes())["departures"]
        page = (root / "stops" / f"{key}.html").read_text()
        body = page.split('id="board"', 1)[1].split("</tbody>", 1)[0] if departures else ""
        rows = body.split("<tr>")[2:]  # after the header row
        assert len(rows) == len(departures), key
        for row, departure in zip(rows, departures, strict=True):
            cells = [html.unescape(re.sub(r"<[^>]*>", "", cell)).strip() for cell in row.split("<td>")[1:]]
            assert cells[0] == (departure["departure"] or departure["arrival"])[11:16], (key, cells)
            assert cells[-1] == note(departure), (key, cells)
        if departures:  # every date of the window is in the stop's week, as many rows as its board
            data = week(root, key)
            assert len(data["dates"]) == window["days"]
            for day in data["dates"]:
                board = orjson.loads((root / "departures" / day / f"{key}.json").read_bytes())
                assert len(data["days"][day]) == len(board["departures"]), (key, day)
        shown += len(departures)
    assert shown > 0


def test_site_sample_boards_show_pickup_and_drop_off_restrictions(site_build: Path) -> None:
    board = orjson.loads((site_build / "departures" / "20260306" / "HBF.json").read_bytes())["departures"]
    assert {(d["pickup_type"], d["drop_off_type"]) for d in board} >= {(0, 1), (1, 0)}
    station = (site_build / "stops" / "HBF.html").read_text()
    assert "<td>no boarding</tr>" in station and "<td>boarding only</tr>" in station


def test_site_stop_pages_without_boards_say_so(without_boards: Path) -> None:
    assert not (without_boards / "departures").exists() or not any((without_boards / "departures").iterdir())
    page = (without_boards / "stops" / "HBF.html").read_text()
    assert "This release has no departure boards." in page and 'HBF.js"' not in page
    assert not list((without_boards / "stops").glob("*.js"))
