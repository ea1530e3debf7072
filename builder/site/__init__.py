"""The rider's website (`build --site`): HTML pages made from the release's own documents.

`site_documents(folder)` reads the JSON documents the build has just written into its staging folder
and yields every page and asset, one at a time: index.html, routes/<key>.html (timetables and map),
timetables/<key>.<n>.html (parts of long timetables), stops/<key>.html (departure boards), and under
site/ the one stylesheet, the one script and the stop search's index.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from builder.site.boards import Window, embedded, route_row
from builder.site.pages import index_page, route_pages, site_name, stop_page
from builder.site.reader import Doc, Release, page_of

ASSETS = ("site.css", "site.js")
SEARCH_INDEX = "site/search-index.js"

# (path in the release, manifest kind, its bytes as they are made)
Made = tuple[str, str, Iterator[bytes]]


def site_documents(folder: Path) -> Iterator[Made]:
    release = Release(folder)
    feed = release.read("feed.json")
    common: Doc = {"site_name": site_name(feed), "feed_info": feed.get("feed_info") or {}}
    route_info: dict[str, Doc] = {}
    for summary in release.read("routes.json")["routes"]:
        head = release.read_head(summary["href"])
        route_info[summary["route_id"]] = head["route"]
        for path, pieces in route_pages(release, head, common):
            (folder / path).parent.mkdir(exist_ok=True)
            yield path, "page", pieces
    window = Window.of(feed)
    route_rows = {route_id: route_row(route, "../") for route_id, route in route_info.items()}
    stops = release.read("stops.json")["stops"]
    for summary in stops:
        path, pieces = stop_page(release, release.read_head(summary["href"]), window, route_info, route_rows,
                                 common)
        yield path, "page", pieces
    (folder / "site").mkdir(exist_ok=True)
    path, pieces = index_page(feed, route_info, common)
    yield path, "page", pieces
    yield SEARCH_INDEX, "asset", iter([search_index(stops)])
    for name in ASSETS:
        yield f"site/{name}", "asset", iter([files("builder.site").joinpath("static", name).read_bytes()])


def search_index(stops: list[Doc]) -> bytes:
    """The stop search's data as a script (browsers do not fetch JSON from file://): name, page, code."""
    rows = sorted(([s.get("stop_name") or s["stop_id"], page_of(s["href"]), s.get("stop_code") or ""]
                   for s in stops), key=lambda r: (r[0], r[1]))
    return b"window.transitSnapshotStops=" + str(embedded(rows)).encode() + b";\n"


