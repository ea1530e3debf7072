"""The root of a snapshot of several feeds: feeds.json, routes.json and stops.json across the feeds,
the root kinds' schemas, and with `--site` an index page of the feeds.

Made after every feed is written, from the feeds' own documents in the staging folder (their feed.json,
routes.json and stops.json), never from the database: a feed's documents are what its single-feed build
would write under its folder, and the root only gathers them. Entries name their feed, since feeds may
share route and stop ids; every href is already a path from the root (`feeds/<key>/...`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from builder import contract
from builder.errors import BuildError, FeedError
from builder.feeds import FeedRecord
from builder.release.output import Raw
from builder.snapshot.kinds import BY_NAME, documents_under, folders, kind
from builder.snapshot.passkit import Made
from builder.snapshot.pinning import PinnedFeed

Doc = dict[str, Any]


@dataclass(frozen=True)
class AcrossInput:
    staging: Path
    feeds: tuple[FeedRecord, ...]  # by feed id
    site: bool = False


def documents(inp: AcrossInput) -> Iterator[Made]:
    entries: list[Doc] = []
    routes: list[Doc] = []
    stops: list[Doc] = []
    for feed in inp.feeds:
        with documents_under(feed.prefix):
            paths = [kind(name).path(None) for name in ("feed", "routes", "stops")]
        feed_doc, routes_doc, stops_doc = (_read(inp.staging, path) for path in paths)
        entries.append(dict(feed_doc, feed_id=feed.feed_id, href=paths[0]))
        routes += (dict(r, feed=feed.feed_id) for r in routes_doc["routes"])
        stops += (dict(s, feed=feed.feed_id) for s in stops_doc["stops"])
    yield "feeds", None, {"feeds": entries}
    yield "all_routes", None, {"routes": routes}
    del routes
    yield "all_stops", None, {"stops": stops}
    del stops
    for name, schema in sorted(contract.schemas().items()):
        if name == "manifest" or (name in BY_NAME and BY_NAME[name].root):
            yield "root_schema", name, schema
    if inp.site:
        from builder.site.pages import feeds_page  # jinja2 only for builds with a site

        yield "feeds_page", None, Raw(feeds_page(entries))


def _read(staging: Path, path: str) -> Doc:
    try:
        doc: Doc = orjson.loads((staging / path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise BuildError(f"cannot gather the feeds' indexes: {path}: {exc}") from exc
    return doc


@contextmanager
def naming(feed: PinnedFeed) -> Iterator[None]:
    """A feed's refusal names the feed, among several."""
    try:
        yield
    except FeedError as exc:
        if feed.record is None:
            raise
        summary = str(exc).splitlines()[0]
        raise FeedError(f"feed {feed.record.feed_id}: {summary}", exc.problems) from exc


def remove_empty_folders(staging: Path) -> None:
    """The kinds' folders the staging release starts with, left empty at the root of several feeds."""
    for folder in folders():
        with suppress(OSError):  # not empty: the root's own documents are there
            (staging / folder).rmdir()
