"""What lists the documents: routes.json, stops.json, feed.json, the root of a snapshot of several
feeds, and the manifest."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from builder.models.records import Agency
from builder.models.shared import Document, Record, RouteSummary, StopSummary


class RouteLinks(RouteSummary):
    timetable: str = Field(description="Path of the route's timetables.")
    geojson: str = Field(description="Path of the route's GeoJSON map.")


class RoutesIndex(Document):
    routes: list[RouteLinks]


class StopsIndex(Document):
    stops: list[StopSummary]


class Counts(Document):
    agencies: int
    routes: int
    stops: int
    trips: int
    stop_times: int


class ServicePeriod(Document):
    start_date: str | None
    end_date: str | None


class Links(Document):
    routes: str
    stops: str
    stops_geojson: str
    services: str


class DeparturesWindow(Document):
    from_: str = Field(alias="from", description="YYYYMMDD: the first date with departure boards.")
    days: int = Field(description="How many dates from `from` have boards (0: none).")
    href: str = Field(description="Template of a board's path: departures/{date}/{stop_key}.json.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class Feed(Document):
    """feed.json: what the snapshot holds."""

    feed_info: Record | None
    agencies: list[Agency]
    counts: Counts
    service_period: ServicePeriod
    links: Links
    departures: DeparturesWindow


# -- the root of a snapshot of several feeds (import --feed): each feed's documents under feeds/<key>/ --------


class FeedEntry(Feed):
    """A feed of feeds.json: its feed.json, with its id and that document's path."""

    feed_id: str = Field(description="The id it was imported under (import --feed ID).")
    href: str = Field(description="Path of the feed's feed.json: feeds/<key>/feed.json.")


class FeedsIndex(Document):
    """feeds.json: every feed of the snapshot, by id."""

    feeds: list[FeedEntry]


class FeedRouteLinks(RouteLinks):
    feed: str = Field(description="The id of the route's feed: feeds may share route ids.")


class AllRoutesIndex(Document):
    """routes.json at the root: every feed's routes (by feed id, then as in the feed's routes.json)."""

    routes: list[FeedRouteLinks]


class FeedStopSummary(StopSummary):
    feed: str = Field(description="The id of the stop's feed: feeds may share stop ids.")


class AllStopsIndex(Document):
    """stops.json at the root: every feed's stops (by feed id, then as in the feed's stops.json)."""

    stops: list[FeedStopSummary]


class Encoded(Document):
    path: str
    sha256: str
    bytes: int


class ManifestEntry(Document):
    path: str
    kind: str
    id: str | None
    sha256: str
    bytes: int
    media_type: str = Field(description="Content-Type the document is served with, e.g. application/json.")
    encodings: dict[str, Encoded] | None = None


class Manifest(Document):
    documents: list[ManifestEntry]
