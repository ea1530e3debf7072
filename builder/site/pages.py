"""The pages: a Jinja2 environment with autoescaping, and one function per page kind giving its context.

Every page is rendered with `Template.generate`, so it leaves as a stream of pieces and is never held
whole; names from the feed are escaped by the templates (autoescape) or, in the tables and the map
made in Python, by markupsafe's `escape`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from itertools import islice
from typing import Any

from jinja2 import Environment, PackageLoader, Template

from builder.site import tables
from builder.site.boards import date_label, first_day_rows, read_week
from builder.site.reader import Doc, Release, page_of, sibling
from builder.site.svgmap import colour, route_map, text_colour
from builder.snapshot.kinds import current_prefix, kind

PIECES = 256  # rendered text is handed to the writer this many template pieces at a time
# (kind, id, path in the release, its bytes as they are rendered): the path is the one builder.snapshot.kinds
# gives the kind and id, needed here to make the folder before the writer opens the file
RoutePage = tuple[str, str, str, Iterator[bytes]]


@cache
def environment() -> Environment:
    # Optional GTFS fields are absent from documents when the feed has no value: a missing one renders
    # as nothing (jinja2's default Undefined), never as an error.
    env = Environment(
        loader=PackageLoader("builder.site", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates do not change during a build: no stat of them per page
    )
    env.filters["page"] = page_of
    env.filters["colour"] = colour
    env.filters["text_colour"] = text_colour
    env.filters["date_label"] = date_label
    return env


def render(name: str, context: dict[str, Any]) -> Iterator[bytes]:
    """The page in pieces of PIECES template pieces each (a template piece is a bit of markup, a value
    or a table row, so a piece stays well under a page's budget): joined in C, not piece by piece."""
    template: Template = environment().get_template(name)
    pieces = template.generate(**context)
    while chunk := list(islice(pieces, PIECES)):
        yield "".join(chunk).encode()


def render_small(name: str, context: dict[str, Any]) -> Iterator[bytes]:
    """A page of bounded size (a stop's holds one day of its departures; hart_tampa's busiest is 0.16 MB)
    in one piece: Jinja's `render` joins the template's pieces in C, where `generate` hands each one
    through two more generators (rendering hart_tampa's 2,349 stop pages: 0.41 -> 0.26 s CPU)."""
    template: Template = environment().get_template(name)
    return iter((template.render(**context).encode(),))


def site_name(feed: Doc) -> str:
    info = feed.get("feed_info") or {}
    names = [a.get("agency_name") for a in feed.get("agencies") or [] if a.get("agency_name")]
    return " · ".join(names[:3]) or info.get("feed_publisher_name") or "Timetables"


def route_title(route: Doc) -> str:
    short, long = route.get("route_short_name"), route.get("route_long_name")
    return " – ".join(n for n in (short, long) if n) or route["route_id"]


def route_pages(release: Release, summary: Doc, head: Doc, common: Doc) -> Iterator[RoutePage]:
    """routes/<key>.html, and tables/<key>.<n>.html for each part of a long route's tables.
    `summary` is the route's entry in routes.json, which links its timetable and GeoJSON (issue 12)."""
    route, href = head["route"], head["route"]["href"]
    timetable = release.read_optional(summary.get("timetable") or sibling(href, "timetables", ".json"))
    geojson = release.read_optional(summary.get("geojson") or sibling(href, "routes", ".geojson"))
    timetables = timetable["timetables"] if timetable else []
    parts = tables.parts(timetables)
    split = tables.cells(timetables) > tables.INLINE_CELLS
    key, root = href.rsplit("/", 1)[-1].rpartition(".")[0], page_root()
    # where kinds.kind("timetable_page") places the parts (Parts("tables", ".html")), in the feed's folder
    links = [f"{common['home']}tables/{key}.{n}.html" for n in range(1, len(parts) + 1)] if split else []
    title = route_title(route)
    svg = route_map(geojson, route.get("route_color"), root, f"Map of {title}") if geojson else None
    context = {
        **common,
        "root": root,
        "route": route,
        "agency": head.get("agency"),
        "title": title,
        "parts": parts,
        "links": links,
        "split": split,
        "has_timetable": timetable is not None,
        "map": svg,
        "table_html": tables.table_html,
        "json_href": href,
    }
    yield "route_page", route["route_id"], page_of(href), render("route.html", context)
    for number, (part, link) in enumerate(zip(parts, links), start=1):  # links: [] unless split
        neighbours = {
            "previous": links[number - 2] if number > 1 else None,
            "next": links[number] if number < len(links) else None,
        }
        yield (
            "timetable_page",
            f"{route['route_id']}#{number}",
            link,
            render(
                "timetable.html",
                {
                    **common,
                    "root": root,
                    "route": route,
                    "title": title,
                    "part": part,
                    "table_html": tables.table_html,
                    **neighbours,
                },
            ),
        )


def stop_page(
    release: Release, head: Doc, boards: bool, route_info: dict[str, Doc], common: Doc
) -> Iterator[bytes]:
    """stops/<key>.html; `boards`: whether the release has departure boards (then the stop's week is
    read from its `stop_week` script, which the page also loads)."""
    stop = head["stop"]
    routes = dict(head.get("routes") or {})
    for child in stop.get("children") or []:  # a station is served by what serves its platforms
        if child.get("href") and release.exists(child["href"]):
            routes.update(release.read_head(child["href"]).get("routes") or {})
    serving = sorted((route_info.get(r) or s for r, s in routes.items()), key=route_order)
    week_href = kind("stop_week").path(stop["stop_id"])
    week = read_week(release, week_href) if boards else None
    platforms = {c["stop_id"]: platform_name(stop, c) for c in stop.get("children") or []}
    is_station = stop.get("location_type") == 1
    context = {
        **common,
        "root": page_root(),
        "stop": stop,
        "routes": serving,
        "boards": week,
        "first_rows": first_day_rows(week, platforms if is_station else None) if week else None,
        "week_href": week_href,
        "platforms": platforms,
        "is_station": is_station,
        "json_href": stop["href"],
    }
    return render_small("stop.html", context)


def page_root() -> str:
    """From a page in a folder of the feed (routes/, stops/, tables/) up to the snapshot root."""
    return "../" * current_prefix().count("/") + "../"


def platform_name(station: Doc, child: Doc) -> str:
    """ "Lakeside Hbf, Gleis 1" at the station "Lakeside Hbf" reads "Gleis 1" on its board."""
    name: str = child.get("stop_name") or child["stop_id"]
    prefix: str = station.get("stop_name") or ""
    rest = name.removeprefix(prefix).lstrip(" ,-–:/") if prefix else name
    return rest or name


def route_order(route: Doc) -> tuple[Any, ...]:
    order = route.get("route_sort_order")
    name = route.get("route_short_name") or route.get("route_long_name") or route["route_id"]
    # natural order: "2" before "10", then the name itself
    digits = "".join(c for c in name if c.isdigit())
    return (order is None, order or 0, int(digits[:9]) if digits else 1 << 30, name, route["route_id"])


def index_page(feed: Doc, route_info: dict[str, Doc], common: Doc) -> Iterator[bytes]:
    agencies = feed.get("agencies") or []
    groups: dict[str | None, list[Doc]] = {}
    for route in sorted(route_info.values(), key=route_order):
        groups.setdefault(route.get("agency_id"), []).append(route)
    named = {a.get("agency_id"): a for a in agencies}
    grouped = [
        (named.get(agency_id) or {"agency_name": agency_id or "Other routes"}, routes)
        for agency_id, routes in sorted(groups.items(), key=lambda g: _agency_name(named, g[0]))
    ]
    context = {
        **common,
        "root": "../" * current_prefix().count("/"),
        "feed": feed,
        "agencies": agencies,
        "groups": grouped,
        "route_title": route_title,
    }
    return render("index.html", context)


def _agency_name(named: dict[str | None, Doc], agency_id: str | None) -> str:
    return str((named.get(agency_id) or {}).get("agency_name") or agency_id or "")


def feeds_page(feeds: list[Doc]) -> Iterator[bytes]:
    """index.html at the root of a snapshot of several feeds: each feed's site, with its agencies."""
    entries = [
        {
            "feed": feed,
            "name": site_name(feed),
            "home": feed["href"].rpartition("/")[0] + "/",
        }
        for feed in feeds
    ]
    css = entries[0]["home"] + "site/site.css" if entries else None
    return render("feeds.html", {"entries": entries, "css": css})
