"""The rider's website (`build --site`): HTML pages made from the release's own documents.

Two passes (builder.snapshot.kinds, run last and only with `--site`, shared by the build's processes)
read the JSON documents the build has just written into its staging folder and yield pages and assets
one at a time, as (kind, id, document): `site` (`route_documents`, one range of route ids per task)
routes/<key>.html (timetables and map), tables/<key>.<n>.html (parts of long timetables), and with
the first range index.html and under site/ the one stylesheet, the one script and the stop search's
index; `site-stops` (`stop_documents`, one range of stop ids per task) stops/<key>.html (departure
boards). `site_documents(folder)` is both in one
process. Each lands where its kind's registry entry places it; every path is relative to `folder`. In a
snapshot of several feeds the pages are made per feed, under the feed's folder (kinds.documents_under).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from builder.release.output import Raw
from builder.site.boards import Window, embedded, week_from_boards
from builder.site.pages import index_page, page_root, route_pages, site_name, stop_page
from builder.site.reader import Doc, Release, page_of
from builder.snapshot.kinds import current_prefix, kind
from builder.snapshot.passkit import Made, StagingInput
from builder.snapshot.source import EVERYTHING, KeyRange

ASSETS = (("stylesheet", "site.css"), ("script", "site.js"))  # (kind, file in builder/site/static)
SEARCH_INDEX = "search_index"  # site/search_index.js


def prepare(inp: StagingInput) -> Common:
    """What every page of the feed shares, read from the staging folder once, before the helpers fork."""
    return Common.of(Release(inp.staging))


def pages(inp: StagingInput) -> Iterator[Made]:
    """The `site` pass (builder.snapshot.kinds): the pages of the routes in the task's id range (cut by
    trips per route) of the staging folder the build is writing; the first range's task adds the index
    and the assets."""
    return route_documents(inp.staging, inp.span, inp.prepared)


def stop_pages(inp: StagingInput) -> Iterator[Made]:
    """The `site-stops` pass: the pages of the stops in the task's id range (cut by visits per stop)."""
    return stop_documents(inp.staging, inp.span, inp.prepared)


def site_documents(folder: Path) -> Iterator[Made]:
    """The whole site of the feed being made in `folder`, in one process (both passes' documents)."""
    yield from route_documents(folder, EVERYTHING)
    yield from stop_documents(folder, EVERYTHING)


@dataclass(frozen=True)
class Common:
    """What every page of a feed's site shares, read from its index documents. Links are `root` (the way
    up from a page to the snapshot root) plus an href, a path from there; `home` is the feed's folder,
    where its index page and assets are ("" in a snapshot of one unnamed feed)."""

    feed: Doc
    context: Doc  # the templates' variables every page has
    route_info: dict[str, Doc]  # route_id -> the route as its route tree states it
    home: str
    routes: list[Doc]  # the feed's routes.json summaries
    stops: list[Doc]  # the feed's stops.json summaries

    @staticmethod
    def of(release: Release) -> Common:
        feed, home = release.read(kind("feed").path(None)), current_prefix()
        context: Doc = {"site_name": site_name(feed), "feed_info": feed.get("feed_info") or {}, "home": home}
        routes = release.read(kind("routes").path(None))["routes"]
        stops = release.read(kind("stops").path(None))["stops"]
        info = {r["route_id"]: release.read_head(r["href"])["route"] for r in routes}
        return Common(feed, context, info, home, routes, stops)


def route_documents(folder: Path, span: KeyRange, common: Common | None = None) -> Iterator[Made]:
    """The pages of the routes in `span`; with the first range (its low end open), the index and assets.
    `common`: the feed's, when the caller read it already."""
    release = Release(folder)
    common = common or Common.of(release)
    for summary in common.routes:
        if summary["route_id"] not in span:
            continue
        head = release.read_head(summary["href"])
        for kind_name, id_, path, pieces in route_pages(release, summary, head, common.context):
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            yield kind_name, id_, Raw(pieces)
    if span.low is not None:
        return
    (folder / common.home / "site").mkdir(parents=True, exist_ok=True)
    yield "index_page", None, Raw(index_page(common.feed, common.route_info, common.context))
    yield "script", SEARCH_INDEX, Raw([search_index(common.stops, common.home)])
    for asset_kind, name in ASSETS:
        yield (
            asset_kind,
            name.split(".")[0],
            Raw([files("builder.site").joinpath("static", name).read_bytes()]),
        )


def stop_documents(folder: Path, span: KeyRange, common: Common | None = None) -> Iterator[Made]:
    release = Release(folder)
    common = common or Common.of(release)
    boards = Window.of(common.feed) is not None
    for summary in common.stops:
        if summary["stop_id"] in span:
            head = release.read_head(summary["href"])
            pieces = stop_page(release, head, boards, common.route_info, common.context)
            yield "stop_page", summary["stop_id"], Raw(pieces)


def stop_weeks(folder: Path) -> Iterator[Made]:
    """Every stop's week of boards (`stop_week`) from the boards' JSON in `folder`, for the merge of
    shards, whose release was made without the boards pass that writes them with --site."""
    release = Release(folder)
    common = Common.of(release)
    window = Window.of(common.feed)
    if window is not None:
        yield from week_from_boards(release, window, common.stops, common.route_info, page_root())


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
