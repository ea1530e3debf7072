"""`build()`: from a GTFS database to a published snapshot. Read it as the table of contents of a build."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

from builder.compress import parse_codings
from builder.diff import BUILD_INFO_IDS, diff_manifests, read_manifest
from builder.errors import BuildError, io_error
from builder.history import keep_newest, record_publish
from builder.indexes import index_documents, schema_documents
from builder.keys import href_for
from builder.lookups import load_lookups
from builder.memory import keep_large_blocks_returnable, release_memory
from builder.output import (
    DocumentWriter,
    OutputLayout,
    Raw,
    build_id_of,
    finish_release,
    manifest_bytes,
    publish,
)
from builder.progress import Progress, Silent
from builder.source import EVERYTHING, KeyRange, Source, open_engine, unreliable
from builder.spool import Spool
from builder.views import Problems, route_and_trip_views, stop_views
from builder.workers import MAX_WORKERS, TaskBoard, run_shared

ROUTES_AND_TRIPS, STOPS = "routes-and-trips", "stops"
PASSES = (ROUTES_AND_TRIPS, STOPS)
Task = tuple[str, KeyRange]  # (pass name, the ids it covers)
BATCH = 1000  # documents between progress reports: the hot loop never pays per document


@dataclass(frozen=True)
class BuildSettings:
    db_url: str
    out_dir: Path = Path("output")
    # processes taking the passes' tasks: this one and workers - 1 forked helpers
    workers: int = 2
    keep: int | None = None  # after publishing, delete all but the newest `keep` releases
    # content-codings to precompress every document with (builder.compress): sidecars beside each file
    compress: tuple[str, ...] = ()
    site: bool = False  # also the rider's website: HTML pages made from the documents (builder.site)

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise BuildError(f"workers must be 1 to {MAX_WORKERS}, got {self.workers}")
        if self.compress != parse_codings(self.compress):
            raise BuildError(f"compress must be a sorted tuple of known codings, got {self.compress!r}")


@dataclass(frozen=True)
class BuildResult:
    build_id: str
    published: bool  # False: the database was unchanged, `current` already showed this release
    documents: dict[str, int]
    bytes_written: int
    seconds: float
    release: Path
    removed: list[str] = field(default_factory=list)  # old releases deleted by `keep`


def build(settings: BuildSettings, progress: Progress | None = None) -> BuildResult:
    started, progress = time.monotonic(), progress or Silent()
    keep_large_blocks_returnable()
    layout = OutputLayout(settings.out_dir)
    with layout.locked():
        with progress.phase("check"):
            _io(layout.remove_stale_staging, "cannot remove stale staging under", layout.releases)
            total = check_database(settings)
        writer, build_id, is_new = write_release(settings, layout, progress, total, started)
        published = is_new or layout.current_build_id() != build_id
        with progress.phase("publish"):
            if published:
                _io(lambda: publish(layout, build_id), "cannot publish into", layout.root)
                _io(lambda: record_publish(layout, build_id), "cannot record the publish in", layout.root)
            keep = settings.keep
            removed: list[str] = [] if keep is None else _io(
                lambda: keep_newest(layout, keep), "cannot delete old releases in", layout.releases)
    kinds = Counter(e["kind"] for e in writer.entries)
    return BuildResult(build_id, published, dict(kinds), writer.bytes_written,
                       time.monotonic() - started, layout.release(build_id), removed=removed)


def write_release(settings: BuildSettings, layout: OutputLayout, progress: Progress, total: int,
                  started: float) -> tuple[DocumentWriter, str, bool]:
    """Every document into a staging folder, then the staging folder renamed to its build id.

    Whatever goes wrong, the staging folder goes (a killed build's is removed by the next run)."""
    staging = _io(layout.new_staging, "cannot create the staging folder in", layout.releases)
    try:
        with progress.phase("documents", total):
            writer = write_views(settings, staging, progress)
        with progress.phase("indexes"):
            write_indexes_and_schemas(settings, writer)
        if settings.site:
            with progress.phase("site"):
                write_site(staging, writer)
        manifest = write_manifest(staging, writer)
        build_id = build_id_of(manifest)
        info = build_info(build_id, writer, started, changes_since(layout, manifest))
        with progress.phase("sync"):
            return writer, build_id, finish_release(layout, staging, build_id, info)
    except OSError as exc:
        raise io_error(exc, "cannot write the release") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the release was renamed


def _io(action: Callable[[], Any], doing: str, path: Path) -> Any:
    try:
        return action()
    except OSError as exc:
        raise io_error(exc, doing, exc.filename or path) from exc


def check_database(settings: BuildSettings) -> int:
    """Refuse a database the documents cannot rely on; returns how many views the passes will write."""
    source = Source(open_engine(settings.db_url))
    with source.connect() as conn:
        source.check_integrity(conn)
        total = sum(source.count(conn, t) for t in ("routes", "trips", "stops"))
    source.engine.dispose()
    return total


def write_views(settings: BuildSettings, staging: Path, progress: Progress) -> DocumentWriter:
    """The sorted passes, cut into id ranges that this process and its helpers take in turn."""
    writer, problems, tally = DocumentWriter(staging, settings.compress), Problems(), Tally(progress)
    tasks = plan_tasks(settings) if settings.workers > 1 else [(name, EVERYTHING) for name in PASSES]
    results = run_shared(TaskBoard(tasks), partial(run_pass, settings=settings, staging=staging, tally=tally),
                         helpers=settings.workers - 1, waiting=tally.show)
    for entries, found, written in results:
        writer.entries += entries
        writer.bytes_written += written
        problems += found
    if problems:
        raise unreliable(problems)
    return writer


def plan_tasks(settings: BuildSettings) -> list[Task]:
    """Route ranges of even trip counts first (the heavier pass), then stop ranges of even stop counts:
    one of each per worker, so that no process idles while another finishes a whole pass."""
    source = Source(open_engine(settings.db_url))
    with source.connect() as conn:
        routes = split_evenly(source.weights(conn, "trips", "route_id"), settings.workers)
        stops = split_evenly(source.weights(conn, "stops", "stop_id"), settings.workers)
    source.engine.dispose()
    return [(ROUTES_AND_TRIPS, span) for span in routes] + [(STOPS, span) for span in stops]


def split_evenly(weights: list[tuple[str, int]], parts: int) -> list[KeyRange]:
    """Consecutive ranges covering every id (the ends stay open), each holding about 1/parts of the weight."""
    total = sum(w for _, w in weights)
    bounds: list[str] = []
    seen = 0
    for id_, weight in weights:
        if len(bounds) < parts - 1 and seen >= total * (len(bounds) + 1) / parts:
            bounds.append(id_)
        seen += weight
    edges: list[str | None] = [None, *bounds, None]
    return [KeyRange(low, high) for low, high in pairwise(edges)]


class Tally:
    """Documents written by every process, in shared memory; only the build process draws progress."""

    def __init__(self, progress: Progress) -> None:
        self._count = multiprocessing.get_context("fork").Value("q", 0)
        self._progress = progress
        self._owner = os.getpid()

    def add(self, documents: int) -> None:
        with self._count.get_lock():
            self._count.value += documents
        if os.getpid() == self._owner:
            self.show()

    def show(self) -> None:
        self._progress.advance(self._count.value)


def run_pass(task: Task, *, settings: BuildSettings, staging: Path,
             tally: Tally) -> tuple[list[dict[str, Any]], list[str], int]:
    """One pass over one id range: its own engine (engines do not cross processes), lookups and writes."""
    name, span = task
    source = Source(open_engine(settings.db_url))
    writer, problems = DocumentWriter(staging, settings.compress), Problems()
    with Spool(staging) as spool, source.connect() as conn:
        lookups = load_lookups(source, conn)
        views = (route_and_trip_views(source, conn, lookups, problems, span, spool=spool)
                 if name == ROUTES_AND_TRIPS else stop_views(source, conn, lookups, problems, span))
        for kind, id_, doc in views:
            writer.write(href_for(kind, id_), kind, id_, doc)
            if len(writer.entries) % BATCH == 0:
                tally.add(BATCH)
    source.engine.dispose()
    tally.add(len(writer.entries) % BATCH)
    del lookups
    release_memory()
    return writer.entries, list(problems), writer.bytes_written


def write_indexes_and_schemas(settings: BuildSettings, writer: DocumentWriter) -> None:
    source = Source(open_engine(settings.db_url))
    with source.connect() as conn:
        for path, kind, doc in index_documents(source, conn, load_lookups(source, conn)):
            writer.write(path, kind, None, doc)
    source.engine.dispose()
    for path, kind, doc in schema_documents():
        writer.write(path, kind, None, doc)


def write_site(staging: Path, writer: DocumentWriter) -> None:
    """The pages, from the JSON documents just written into the staging folder (never from the database,
    so HTML and JSON cannot disagree); one page at a time, streamed as it renders."""
    from builder.site import site_documents  # Jinja2 is imported only by builds that make the site

    for path, kind, pieces in site_documents(staging):
        writer.write(path, kind, None, Raw(pieces))


def write_manifest(staging: Path, writer: DocumentWriter) -> bytes:
    manifest = manifest_bytes(writer.entries)
    (staging / "manifest.json").write_bytes(manifest)
    return manifest


def changes_since(layout: OutputLayout, manifest: bytes) -> dict[str, Any] | None:
    """What this release changes against the one it replaces (None for the first release)."""
    previous = layout.current_build_id()
    if previous is None:
        return None
    try:
        old = read_manifest(layout.release(previous))
    except BuildError:
        return None  # a damaged previous release must not stop the one that replaces it
    changes = diff_manifests(old, orjson.loads(manifest)["documents"])
    return {"against": previous, **changes.as_dict(limit=BUILD_INFO_IDS)}


def build_info(build_id: str, writer: DocumentWriter, started: float,
               changes: dict[str, Any] | None) -> dict[str, Any]:
    """Everything time-stamped lives here, outside the manifest, so releases stay byte-identical."""
    return {
        "build_id": build_id,
        "built_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "seconds": round(time.monotonic() - started, 3),
        "documents": dict(sorted(Counter(e["kind"] for e in writer.entries).items())),
        "bytes": writer.bytes_written,
        "host": os.uname().nodename,
        "changes": changes,
    }
