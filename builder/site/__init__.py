"""The rider's website (`build --site`): HTML pages made from the release's own documents.

The `site` pass (builder.snapshot.kinds, run last and only with `--site`): `site_documents(folder)` reads the
JSON documents the build has just written into its staging folder and yields every page and asset, one
at a time, as (kind, id, document): index.html, routes/<key>.html (timetables and map),
timetables/<key>.<n>.html (parts of long timetables), stops/<key>.html (departure boards), and under
site/ the one stylesheet, the one script and the stop search's index. Each lands where its kind's
registry entry places it.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from builder.errors import BuildError
from builder.release.output import Raw
from builder.site.boards import Window, embedded, route_row
from builder.site.pages import index_page, route_pages, site_name, stop_page
from builder.site.reader import Doc, Release, page_of
from builder.snapshot.kinds import current_prefix, kind
from builder.snapshot.passkit import Made, PassInput

ASSETS = (("stylesheet", "site.css"), ("script", "site.js"))  # (kind, file in builder/site/static)
SEARCH_INDEX = "search_index"  # site/search_index.js


def pages(inp: PassInput) -> Iterator[Made]:
    """The pass's generator (builder.snapshot.kinds): the site of the staging folder the build is writing."""
    if inp.staging is None:
        raise BuildError("the site is made from a release folder, and the build gave none")
    return site_documents(inp.staging)


def site_documents(folder: Path) -> Iterator[Made]:
    """The site of the feed whose documents are being made (its folder: kinds.documents_under). Links
    are `root` (the way up from a page to the snapshot root) plus an href, which is a path from there;
    `home` is the feed's folder, where its index page and assets are."""
    release, home = Release(folder), current_prefix()
    up = "../" * home.count("/")
    feed = release.read(kind("feed").path(None))
    common: Doc = {"site_name": site_name(feed), "feed_info": feed.get("feed_info") or {}, "home": home}
    route_info: dict[str, Doc] = {}
    for summary in release.read(kind("routes").path(None))["routes"]:
        head = release.read_head(summary["href"])
        route_info[summary["route_id"]] = head["route"]
        for kind_name, id_, path, pieces in route_pages(release, summary, head, common):
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            yield kind_name, id_, Raw(pieces)
    window = Window.of(feed)
    route_rows = {route_id: route_row(route, up + "../") for route_id, route in route_info.items()}
    stops = release.read(kind("stops").path(None))["stops"]
    for summary in stops:
        pieces = stop_page(
            release, release.read_head(summary["href"]), window, route_info, route_rows, common
        )
        yield "stop_page", summary["stop_id"], Raw(pieces)
    (folder / home / "site").mkdir(parents=True, exist_ok=True)
    yield "index_page", None, Raw(index_page(feed, route_info, common))
    yield "script", SEARCH_INDEX, Raw([search_index(stops, home)])
    for asset_kind, name in ASSETS:
        yield (
            asset_kind,
            name.split(".")[0],
            Raw([files("builder.site").joinpath("static", name).read_bytes()]),
        )


def search_index(stops: list[Doc], home: str = "") -> bytes:
    """The stop search's data as a script (browsers do not fetch JSON from file://): name, page (from
    the index page, in the feed's folder `home`), code."""
    rows = sorted(
        (
            [
                s.get("stop_name") or s["stop_id"],
                page_of(s["href"]).removeprefix(home),
                s.get("stop_code") or "",
            ]
            for s in stops
        ),
        key=lambda r: (r[0], r[1]),
    )
    return b"window.transitSnapshotStops=" + str(embedded(rows)).encode() + b";\n"
