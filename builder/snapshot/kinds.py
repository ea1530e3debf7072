"""The registry of document kinds and of the passes that make them: every kind and every pass declared once.

A **kind** is a family of documents: its name (the manifest's `kind`), where its files go (per GTFS id
under a folder, one named file, or one file per name), its media type, where its ids come from, and the
pass that makes it. A **pass** is one walk over the database: its name, how its work is cut into tasks
(id ranges of even weight over one table's column, or a single task in the build process), and the
generator that yields its documents. build.py, OutputLayout, diff, check_database, serve, publish and
the manifest all take what they need from here; nothing else spells a kind's folder or media type.

Adding a kind (say departure boards):

1. Write its module, e.g. `builder/departures.py`, with a generator `def documents(inp: PassInput) ->
   Iterator[Made]` (builder.snapshot.passkit) yielding `("departures", id, document)`; add its pydantic model to
   `builder.models.DOCUMENT_MODELS` if it is JSON, and regenerate `builder/contract.json`.
2. Declare it below in KINDS: `DocumentKind("departures", made_by="departures", place=PerId("departures"),
   ids=Ids("stops", "stop_id"))`, with `media_type=GEOJSON` or `HTML` when it is not JSON.
3. If no existing pass makes it, declare its pass in PASSES: `("departures", "builder.departures:documents",
   Ids("stops", "stop_id"))` (split by None: one task, after the split passes, in the build process).
4. New file extension? Map it in deploy/nginx.conf's `types {}` block (tests/test_kinds.py checks it).

Everything else (staging folders, manifest entries with their media type, diff groups, the progress
total, Content-Type in serve, publish and nginx) follows from the entries.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from builder.snapshot.keys import key_for

if TYPE_CHECKING:
    from builder.snapshot.passkit import Generator, PassInput, StagingInput

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
# Extensions the snapshot's files may have, and the media type a static server must send for each
# (deploy/nginx.conf's `types {}` block says the same; a test holds them together).
MEDIA_TYPES = {".json": JSON, ".geojson": GEOJSON, ".html": HTML, ".css": CSS, ".js": JAVASCRIPT}


# The folder, from the snapshot root, of the documents being made: "" for a database of one unnamed feed,
# `feeds/<key>/` for one of several feeds (builder.feeds). Every path and href comes from a kind's place,
# so they all start with it. A context variable, not a parameter: hrefs are made in a dozen places deep
# in the passes, and one feed's task sets it once (`documents_under`) for all of them.
_UNDER: ContextVar[str] = ContextVar("documents_under", default="")


@contextmanager
def documents_under(prefix: str) -> Iterator[None]:
    """Every path and href made in the block starts with `prefix` ("" or `feeds/<key>/`)."""
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"a documents folder ends with '/', got {prefix!r}")
    token = _UNDER.set(prefix)
    try:
        yield
    finally:
        _UNDER.reset(token)


def current_prefix() -> str:
    return _UNDER.get()


@dataclass(frozen=True)
class Ids:
    """Where a kind's ids (or a pass's weights) come from: every value of one table's column."""

    table: str
    column: str


@dataclass(frozen=True)
class PerId:
    """One document per GTFS id: `<folder>/<key><extension>`, the key from builder.snapshot.keys."""

    folder: str
    extension: str = ".json"

    def path(self, id_: str | None) -> str:
        if id_ is None:
            raise ValueError(f"documents under {self.folder}/ need an id")
        return f"{self.folder}/{key_for(id_)}{self.extension}"

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{{key}}{self.extension}"


@dataclass(frozen=True)
class Named:
    """One document per name the project chose (not a GTFS id): `<folder>/<name><suffix>`. The name
    places the file; the manifest entry's id stays null, as for every document without a GTFS id."""

    folder: str
    suffix: str

    def path(self, id_: str | None) -> str:
        if id_ is None or not id_.replace("_", "").isalnum() or not id_.isascii():
            raise ValueError(f"a document under {self.folder}/ needs a plain ASCII name, got {id_!r}")
        return f"{self.folder}/{id_}{self.suffix}"

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{{name}}{self.suffix}"

    @property
    def extension(self) -> str:
        return "." + self.suffix.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Single:
    """One document at a fixed path, such as routes.json."""

    file: str
    folder: None = None

    def path(self, id_: str | None) -> str:
        return self.file

    @property
    def pattern(self) -> str:
        return self.file

    @property
    def extension(self) -> str:
        return "." + self.file.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class PerDate:
    """One document per date and GTFS id: `<folder>/<YYYYMMDD>/<key><extension>`, the id being
    `YYYYMMDD/<GTFS id>` (departure boards: a stop's board on a date)."""

    folder: str
    extension: str = ".json"

    def path(self, id_: str | None) -> str:
        day, _, gtfs_id = (id_ or "").partition("/")
        if len(day) != 8 or not day.isdigit() or not gtfs_id:
            raise ValueError(f"documents under {self.folder}/ need an id YYYYMMDD/<id>, got {id_!r}")
        return f"{self.folder}/{day}/{key_for(gtfs_id)}{self.extension}"

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{{date}}/{{key}}{self.extension}"


@dataclass(frozen=True)
class Parts:
    """Numbered parts of what one GTFS id has (a long timetable's pages): `<folder>/<key>.<n><extension>`,
    from the id `<GTFS id>#<n>`. Only parts are in the folder, so the path decodes to one id and part
    (beside per-id documents, `A.1.html` could be the id `A.1`). The manifest id stays null."""

    folder: str
    extension: str

    def path(self, id_: str | None) -> str:
        gtfs_id, _, number = (id_ or "").rpartition("#")
        if not gtfs_id or not number.isdigit():
            raise ValueError(f"a part under {self.folder}/ needs an id `<GTFS id>#<n>`, got {id_!r}")
        return f"{self.folder}/{key_for(gtfs_id)}.{int(number)}{self.extension}"

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{{key}}.{{n}}{self.extension}"


Place = PerId | PerDate | Named | Single | Parts


@dataclass(frozen=True)
class DocumentKind:
    name: str  # the manifest's `kind`, also the key of its model in builder.models.DOCUMENT_MODELS
    made_by: str  # the name of the pass that makes it
    place: Place
    media_type: str = JSON
    ids: Ids | None = None  # the GTFS ids it has one document for (per-id kinds)
    # only at the root of a snapshot of several feeds (feeds.json and the indexes across feeds): never
    # under a feed's folder, and not in a snapshot of one unnamed feed
    root: bool = False
    # The BuildSettings flag that asks for it when a pass every build runs makes it only on request
    # (a stop's week of boards for its page, made by the boards pass with --site); None: always made.
    when: str | None = None

    def __post_init__(self) -> None:
        expected = MEDIA_TYPES.get(self.place.extension)
        if expected != self.media_type:
            raise ValueError(
                f"kind {self.name}: {self.place.extension} files are {expected}, not {self.media_type}"
            )
        if (self.ids is None) == isinstance(self.place, (PerId, PerDate)):
            raise ValueError(f"kind {self.name}: documents per id need `ids`, and only they have them")

    def path(self, id_: str | None) -> str:
        """The document's path under the release, which is also its URL path and its `href`: under the
        folder of the feed being made (documents_under), except for the root's own kinds."""
        return self.place.path(id_) if self.root else _UNDER.get() + self.place.path(id_)

    def manifest_id(self, id_: str | None) -> str | None:
        return id_ if self.ids is not None else None


@dataclass(frozen=True)
class Pass:
    name: str
    generator: str  # "module:function", imported when the pass runs (a pass module may import this one)
    split_by: Ids | None = None  # id ranges of even weight over this column; None: one task, build process
    kinds: tuple[str, ...] = field(default=())  # filled from KINDS: what it may yield
    # "module:function" run once in the build process before the helpers fork (split passes only): what
    # every task of the pass looks up, handed to each as PassInput.prepared
    prepare: str | None = None
    # The BuildSettings flag that asks for it (the site: "site"); None: every build runs it. Optional
    # passes run after all others, in their own phase, and may read back what those wrote.
    when: str | None = None
    # False: its tasks read only the staging folder (the site's passes), so they open no database and
    # their generator and `prepare` take a passkit.StagingInput instead of a PassInput
    reads_database: bool = True

    def make(self) -> Generator:
        return _resolve(self.generator)

    def prepared(self, inp: PassInput | StagingInput) -> Any:
        assert self.prepare is not None
        return _resolve(self.prepare)(inp)


@cache
def _resolve(dotted: str) -> Generator:
    module, _, name = dotted.partition(":")
    return cast("Generator", getattr(importlib.import_module(module), name))


ROUTES_AND_TRIPS, STOPS, DEPARTURES = "routes-and-trips", "stops", "departures"
INDEXES, SCHEMAS = "indexes", "schemas"
SITE, SITE_STOPS = "site", "site-stops"
ACROSS_FEEDS = "across-feeds"

KINDS: tuple[DocumentKind, ...] = (
    DocumentKind("route", ROUTES_AND_TRIPS, PerId("routes"), ids=Ids("routes", "route_id")),
    DocumentKind("trip", ROUTES_AND_TRIPS, PerId("trips"), ids=Ids("trips", "trip_id")),
    DocumentKind("stop", STOPS, PerId("stops"), ids=Ids("stops", "stop_id")),
    DocumentKind("timetable", ROUTES_AND_TRIPS, PerId("timetables"), ids=Ids("routes", "route_id")),
    DocumentKind(
        "route_geojson",
        ROUTES_AND_TRIPS,
        PerId("routes", ".geojson"),
        media_type=GEOJSON,
        ids=Ids("routes", "route_id"),
    ),
    DocumentKind("routes", INDEXES, Single("routes.json")),
    DocumentKind("stops", INDEXES, Single("stops.json")),
    DocumentKind("stops_geojson", INDEXES, Single("stops.geojson"), media_type=GEOJSON),
    DocumentKind("feed", INDEXES, Single("feed.json")),
    DocumentKind("services", INDEXES, Single("services.json")),
    DocumentKind("departures", DEPARTURES, PerDate("departures"), ids=Ids("stops", "stop_id")),
    DocumentKind("schema", SCHEMAS, Named("schemas", ".schema.json")),
    # the rider's website (build --site, builder.site), made from the documents above
    DocumentKind("index_page", SITE, Single("index.html"), media_type=HTML),
    DocumentKind(
        "route_page", SITE, PerId("routes", ".html"), media_type=HTML, ids=Ids("routes", "route_id")
    ),
    # in a folder of their own: other tools take every file under timetables/ for a route's timetable
    DocumentKind("timetable_page", SITE, Parts("tables", ".html"), media_type=HTML),
    DocumentKind(
        "stop_page", SITE_STOPS, PerId("stops", ".html"), media_type=HTML, ids=Ids("stops", "stop_id")
    ),
    # a stop's week of departures as its page's script reads them (builder.snapshot.board_week): made
    # by the boards pass, which holds them, when the build has --site; a script, since browsers do not
    # fetch JSON from file://
    DocumentKind(
        "stop_week",
        DEPARTURES,
        PerId("stops", ".js"),
        media_type=JAVASCRIPT,
        ids=Ids("stops", "stop_id"),
        when="site",
    ),
    DocumentKind("stylesheet", SITE, Named("site", ".css"), media_type=CSS),
    DocumentKind("script", SITE, Named("site", ".js"), media_type=JAVASCRIPT),
    # the root of a snapshot of several feeds (builder.snapshot.across), each feed under feeds/<key>/
    DocumentKind("feeds", ACROSS_FEEDS, Single("feeds.json"), root=True),
    DocumentKind("all_routes", ACROSS_FEEDS, Single("routes.json"), root=True),
    DocumentKind("all_stops", ACROSS_FEEDS, Single("stops.json"), root=True),
    DocumentKind("root_schema", ACROSS_FEEDS, Named("schemas", ".schema.json"), root=True),
    DocumentKind("feeds_page", ACROSS_FEEDS, Single("index.html"), media_type=HTML, root=True),
)

# In the order they run: the split passes first (the heavier first, so no process idles at the end),
# then the single-task ones in the build process.
PASSES: tuple[Pass, ...] = tuple(
    Pass(
        name,
        generator,
        split_by,
        tuple(k.name for k in KINDS if k.made_by == name),
        prepare,
        when,
        reads_database=name not in (SITE, SITE_STOPS),
    )
    for name, generator, split_by, prepare, when in (
        (ROUTES_AND_TRIPS, "builder.snapshot.route_trees:views", Ids("trips", "route_id"), None, None),
        (STOPS, "builder.snapshot.stop_views:views", Ids("stops", "stop_id"), None, None),
        # the heaviest pass, last: cut by visits per stop; its lookups read once, before the fork
        (
            DEPARTURES,
            "builder.snapshot.boards:boards",
            Ids("stop_times", "stop_id"),
            "builder.snapshot.boards:prepare",
            None,
        ),
        (INDEXES, "builder.snapshot.indexes:indexes", None, None, None),
        (SCHEMAS, "builder.snapshot.indexes:schemas", None, None, None),
        # the website, across the processes after the passes above (see `when`): its route pages cut by
        # trips per route (their timetables; the index and assets with the first range), its stop pages
        # by visits per stop (their boards); what every page shares read once, before the fork
        (SITE, "builder.site:pages", Ids("trips", "route_id"), "builder.site:prepare", "site"),
        (SITE_STOPS, "builder.site:stop_pages", Ids("stop_times", "stop_id"), "builder.site:prepare", "site"),
    )
)
# Run once per build of several feeds, after every feed, at the root: from the feeds' documents in the
# staging folder, not from the database (its generator takes a builder.snapshot.across.AcrossInput).
ROOT_PASS = Pass(
    ACROSS_FEEDS, "builder.snapshot.across:documents", kinds=tuple(k.name for k in KINDS if k.root)
)

BY_NAME: dict[str, DocumentKind] = {k.name: k for k in KINDS}
PASS_BY_NAME: dict[str, Pass] = {p.name: p for p in (*PASSES, ROOT_PASS)}
# every build's passes: the split ones in the documents phase, the single ones after them
SPLIT_PASSES = tuple(p for p in PASSES if p.split_by is not None and p.when is None)
SINGLE_PASSES = tuple(p for p in PASSES if p.split_by is None and p.when is None)
# passes a BuildSettings flag asks for, run last, each flag's passes in one phase shared by the processes
OPTIONAL_PASSES = tuple(p for p in PASSES if p.when is not None)
# the kinds of a feed's documents (all of a snapshot of one unnamed feed)
FEED_KINDS = tuple(k.name for k in KINDS if not k.root)


def kind(name: str) -> DocumentKind:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"no document kind {name!r} in builder.snapshot.kinds") from None


def href(kind_name: str, id_: str) -> str:
    """A document's path (and URL) from its kind and id: `href("route", "B41")` -> `routes/B41.json`."""
    return BY_NAME[kind_name].path(id_)


def folders() -> list[str]:
    """Top-level folders the kinds every build makes write into, for the staging release (optional
    passes make their own folders when they run)."""
    always = {p.name for p in PASSES if p.when is None}
    return sorted(
        {k.place.folder for k in KINDS if k.place.folder is not None and k.made_by in always and not k.root}
    )


def _check_registry() -> None:
    for k in KINDS:
        if k.made_by not in PASS_BY_NAME:
            raise ValueError(f"kind {k.name}: no pass {k.made_by!r} in builder.snapshot.kinds.PASSES")
        if k.root != (k.made_by == ACROSS_FEEDS):
            raise ValueError(f"kind {k.name}: the root's kinds, and only they, are made across feeds")
    for p in (*PASSES, ROOT_PASS):
        if not p.kinds:
            raise ValueError(f"pass {p.name} makes no kind")


_check_registry()
