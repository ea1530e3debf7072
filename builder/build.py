"""`build()`: from a GTFS database to a published snapshot. Read it as the table of contents of a build."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import make_url

from builder.database import sqlite_file
from builder.errors import BuildError, guarded_io, io_error
from builder.feeds import FeedRecord
from builder.progress import Progress, Silent
from builder.release import manifest
from builder.release.compress import parse_codings
from builder.release.diff import BUILD_INFO_IDS, changes_on_disk
from builder.release.entries import EntryLog, write_manifest
from builder.release.history import keep_newest, record_publish
from builder.release.output import DocumentWriter, OutputLayout, build_id_of, finish_release, publish
from builder.snapshot.across import AcrossInput, naming, remove_empty_folders
from builder.snapshot.board_context import feed_zone
from builder.snapshot.calendars import MAX_WINDOW_DAYS, Window
from builder.snapshot.clock import zone_named
from builder.snapshot.kinds import (
    DEPARTURES,
    KINDS,
    OPTIONAL_PASSES,
    ROOT_PASS,
    SINGLE_PASSES,
    SPLIT_PASSES,
    DocumentKind,
    PerDate,
    documents_under,
)
from builder.snapshot.lookups import load_agencies
from builder.snapshot.memory import keep_large_blocks_returnable
from builder.snapshot.passkit import Made
from builder.snapshot.pinning import Pin, PinnedDatabase, PinnedFeed, pin_database
from builder.snapshot.running import (
    write_optional_passes,
    write_single_passes,
    write_views,
    write_views_on_cluster,
)
from builder.snapshot.source import Source
from builder.snapshot.tasks import (
    Weighing,
    write_made,
)
from builder.snapshot.workers import MAX_WORKERS


@dataclass(frozen=True)
class BuildSettings:
    db_url: str
    out_dir: Path = Path("output")
    # processes taking the passes' tasks: this one and workers - 1 forked helpers
    workers: int = 2
    keep: int | None = None  # after publishing, delete all but the newest `keep` releases
    # content-codings to precompress every document with (builder.release.compress): sidecars beside each file
    compress: tuple[str, ...] = ()
    site: bool = False  # also the rider's website: HTML pages made from the documents (builder.site)
    # departure boards for `departures_days` dates from `departures_from` (None: today in the feed's zone)
    departures_from: date | None = None
    departures_days: int = 7
    # a Dask scheduler (tcp://HOST:PORT) whose workers run the split passes' tasks instead of local
    # processes (builder.snapshot.cluster); they must share the output folder's storage
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.departures_days <= MAX_WINDOW_DAYS:
            raise BuildError(f"--departures-days must be 0 to {MAX_WINDOW_DAYS}, got {self.departures_days}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise BuildError(f"workers must be 1 to {MAX_WORKERS}, got {self.workers}")
        if self.compress != parse_codings(self.compress):
            raise BuildError(f"compress must be a sorted tuple of known codings, got {self.compress!r}")

    def flags(self) -> frozenset[str]:
        """The flags this build has of those the registry's passes and kinds are made on (`when`)."""
        named = {p.when for p in OPTIONAL_PASSES} | {k.when for k in KINDS}
        return frozenset(f for f in named if f is not None and getattr(self, f))


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
    if settings.scheduler is not None:  # workers have their own working directories
        settings = replace(
            settings, out_dir=settings.out_dir.absolute(), db_url=absolute_url(settings.db_url)
        )
    layout = OutputLayout(settings.out_dir)
    with layout.locked():
        guarded_io(layout.remove_stale_staging, "cannot remove stale staging under", layout.releases)
        with pin_database(settings.db_url, layout.new_scratch) as pin:  # every task reads this one state
            with progress.phase("check"):
                checked = []
                for feed in pin.feeds:
                    with naming(feed):
                        checked.append(check_database(settings, feed.database))
            writer, build_id, is_new = write_release(settings, pin, layout, progress, checked, started)
        return publish_release(layout, writer, build_id, is_new, settings.keep, started, progress)


def absolute_url(url: str) -> str:
    """A SQLite URL naming its file by an absolute path (other URLs as they are)."""
    path = sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    return make_url(url).set(database=str(path.absolute())).render_as_string(hide_password=False)


def publish_release(
    layout: OutputLayout,
    writer: DocumentWriter,
    build_id: str,
    is_new: bool,
    keep: int | None,
    started: float,
    progress: Progress,
) -> BuildResult:
    """Point `current` at the finished release (unless it already does), then apply --keep."""
    published = is_new or layout.current_build_id() != build_id
    with progress.phase("publish"):
        if published:
            guarded_io(lambda: publish(layout, build_id), "cannot publish into", layout.root)
            guarded_io(lambda: record_publish(layout, build_id), "cannot record the publish in", layout.root)
        removed: list[str] = (
            []
            if keep is None
            else guarded_io(
                lambda: keep_newest(layout, keep), "cannot delete old releases in", layout.releases
            )
        )
    return BuildResult(
        build_id,
        published,
        dict(writer.log.kinds),
        writer.bytes_written,
        time.monotonic() - started,
        layout.release(build_id),
        removed=removed,
    )


def write_release(
    settings: BuildSettings,
    pin: Pin,
    layout: OutputLayout,
    progress: Progress,
    checked: list[tuple[int, Window]],
    started: float,
) -> tuple[DocumentWriter, str, bool]:
    """Every document into a staging folder, then the staging folder renamed to its build id: each
    feed's (`checked`: its document count and window, from check_database), then, for feeds imported
    with --feed, the root's.

    Whatever goes wrong, the staging folder goes (a killed build's is removed by the next run). The last
    document read, the pinned state is checked: a change the pin could not keep out publishes nothing."""
    staging = guarded_io(layout.new_staging, "cannot create the staging folder in", layout.releases)
    try:
        try:
            writer = DocumentWriter(staging, settings.compress, log=EntryLog.under(staging))
            if settings.scheduler is not None:  # every feed's split passes at once, across the cluster
                write_views_on_cluster(settings.scheduler, settings, pin.feeds, checked, writer, progress)
            for feed, (total, window) in zip(pin.feeds, checked, strict=True):
                write_feed(settings, feed, writer, progress, total, window)
            if pin.several:
                with progress.phase("feeds"):
                    records = tuple(f.record for f in pin.feeds if f.record is not None)
                    write_across_feeds(records, settings.site, writer)
                remove_empty_folders(staging)
        except (BuildError, LookupError, ValueError):
            # Where the pin could not keep changes out, a pass may trip over rows another program wrote
            # meanwhile (a stop time whose stop its lookups never saw): that is the database changing,
            # exit 6 and a retry, not a broken feed or a crash.
            pin.ensure_unchanged()
            raise
        pin.ensure_unchanged()
        build_id, is_new = seal_release(layout, staging, writer, started, progress)
        return writer, build_id, is_new
    except OSError as exc:
        raise io_error(exc, "cannot write the release") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the release was renamed


def write_feed(
    settings: BuildSettings,
    feed: PinnedFeed,
    writer: DocumentWriter,
    progress: Progress,
    total: int,
    window: Window,
) -> None:
    """One feed's documents, under its folder (none for a database of one unnamed feed): what a build of
    that feed alone writes, its hrefs starting with the folder. With --scheduler, its split passes'
    documents are written already (write_views_on_cluster)."""
    name = "" if feed.record is None else f" {feed.record.feed_id}"
    weighing = Weighing(feed.database)  # the site's passes are cut by the columns the documents' are
    with naming(feed), documents_under(feed.prefix):
        if settings.scheduler is None:
            with progress.phase("documents" + name, total):
                write_views(settings, feed, writer, progress, window, weighing)
        with progress.phase("indexes" + name):
            write_single_passes(settings, feed.database, writer, window, SINGLE_PASSES)
        for flag in dict.fromkeys(p.when for p in OPTIONAL_PASSES if getattr(settings, str(p.when))):
            with progress.phase(str(flag) + name):  # last: they may read back every document written above
                optional = [p for p in OPTIONAL_PASSES if p.when == flag]
                write_optional_passes(settings, feed, writer, window, optional, weighing)


def write_across_feeds(records: tuple[FeedRecord, ...], site: bool, writer: DocumentWriter) -> None:
    """The root of a snapshot of several feeds (builder.snapshot.across), from their documents: the
    build's, or a merge's of shards (which has no database)."""
    make = cast("Callable[[AcrossInput], Iterable[Made]]", ROOT_PASS.make())
    write_made(ROOT_PASS, make(AcrossInput(writer.staging, records, site)), writer)


def seal_release(
    layout: OutputLayout, staging: Path, writer: DocumentWriter, started: float, progress: Progress
) -> tuple[str, bool]:
    """The manifest, the build id it gives, build-info.json, and the staging folder renamed to that id
    (False: that release existed already)."""
    build_id = build_id_of(write_manifest(staging / manifest.MANIFEST, writer.log))
    info = build_info(build_id, writer, started, changes_since(layout, writer.log))
    writer.log.remove()
    with progress.phase("sync"):
        return build_id, finish_release(layout, staging, build_id, info)


def check_database(settings: BuildSettings, database: PinnedDatabase) -> tuple[int, Window]:
    """Refuse a database the documents cannot rely on; returns how many documents the split passes will
    write (one per id of each kind they make, as the registry declares, per date for dated kinds) and
    the window of dates that dated documents are written for."""
    split = {p.name for p in SPLIT_PASSES}
    source = database.source()
    with source.connect() as conn:
        source.check_integrity(conn)
        window = dates_window(settings, source, conn)
        total = sum(
            source.count(conn, k.ids.table) * (window.days if isinstance(k.place, PerDate) else 1)
            for k in KINDS
            if k.made_by in split and k.ids is not None and _asked_for(settings, k, window)
        )
    source.engine.dispose()
    return total, window


def _asked_for(settings: BuildSettings, k: DocumentKind, window: Window) -> bool:
    """Whether the build makes documents of kind `k`: a kind made on request only with its flag, and no
    boards pass runs (nor its stop weeks) for a window of no dates."""
    flagged = k.when is None or bool(getattr(settings, k.when))
    return flagged and (k.made_by != DEPARTURES or window.days > 0)


def dates_window(settings: BuildSettings, source: Source, conn: Any) -> Window:
    """The dates departure boards are written for; by default 7 from today in the feed's timezone."""
    first = settings.departures_from
    if first is None:
        first = datetime.now(zone_named(feed_zone(load_agencies(source, conn)))).date()
    return Window(first, settings.departures_days)


def changes_since(layout: OutputLayout, new: EntryLog) -> dict[str, Any] | None:
    """What this release changes against the one it replaces (None for the first release), both
    manifests read as streams (builder.release.diff.changes_on_disk)."""
    previous = layout.current_build_id()
    if previous is None or new.folder is None:
        return None
    old = manifest.stream(layout.release(previous))
    try:
        changes = changes_on_disk(old, new.entries(), new.folder, limit=BUILD_INFO_IDS)
    except manifest.ManifestError:
        return None  # a damaged previous release must not stop the one that replaces it
    return {"against": previous, **changes}


def build_info(
    build_id: str, writer: DocumentWriter, started: float, changes: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything time-stamped lives here, outside the manifest, so releases stay byte-identical."""
    return {
        "build_id": build_id,
        "built_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "seconds": round(time.monotonic() - started, 3),
        "documents": dict(sorted(writer.log.kinds.items())),
        "bytes": writer.bytes_written,
        "host": os.uname().nodename,
        "changes": changes,
    }
