"""`build()`: from a GTFS database to a published snapshot. Read it as the table of contents of a build."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

from builder.errors import BuildError, io_error
from builder.progress import Progress, Silent
from builder.release import manifest
from builder.release.compress import parse_codings
from builder.release.diff import BUILD_INFO_IDS, diff_manifests
from builder.release.history import keep_newest, record_publish
from builder.release.manifest import Entry, Manifest
from builder.release.output import DocumentWriter, OutputLayout, build_id_of, finish_release, publish
from builder.snapshot.across import AcrossInput, naming, remove_empty_folders
from builder.snapshot.board_context import feed_zone
from builder.snapshot.calendars import MAX_WINDOW_DAYS, Window
from builder.snapshot.clock import zone_named
from builder.snapshot.kinds import (
    KINDS,
    PASS_BY_NAME,
    ROOT_PASS,
    SINGLE_PASSES,
    SPLIT_PASSES,
    Pass,
    PerDate,
    documents_under,
    kind,
)
from builder.snapshot.lookups import load_agencies, load_lookups
from builder.snapshot.memory import keep_large_blocks_returnable, release_memory
from builder.snapshot.passkit import Made, PassInput, Problems
from builder.snapshot.pinning import Pin, PinnedDatabase, PinnedFeed, pin_database
from builder.snapshot.source import EVERYTHING, KeyRange, Source, unreliable
from builder.snapshot.spool import Spool
from builder.snapshot.workers import MAX_WORKERS, TaskBoard, run_shared

Task = tuple[str, KeyRange]  # (pass name, the ids it covers)
BATCH = 1000  # documents between progress reports: the hot loop never pays per document


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

    def __post_init__(self) -> None:
        if not 0 <= self.departures_days <= MAX_WINDOW_DAYS:
            raise BuildError(f"--departures-days must be 0 to {MAX_WINDOW_DAYS}, got {self.departures_days}")
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
        _io(layout.remove_stale_staging, "cannot remove stale staging under", layout.releases)
        with pin_database(settings.db_url, layout.new_scratch) as pin:  # every task reads this one state
            with progress.phase("check"):
                checked = []
                for feed in pin.feeds:
                    with naming(feed):
                        checked.append(check_database(settings, feed.database))
            writer, build_id, is_new = write_release(settings, pin, layout, progress, checked, started)
        published = is_new or layout.current_build_id() != build_id
        with progress.phase("publish"):
            if published:
                _io(lambda: publish(layout, build_id), "cannot publish into", layout.root)
                _io(lambda: record_publish(layout, build_id), "cannot record the publish in", layout.root)
            keep = settings.keep
            removed: list[str] = (
                []
                if keep is None
                else _io(lambda: keep_newest(layout, keep), "cannot delete old releases in", layout.releases)
            )
    kinds = Counter(e.kind for e in writer.entries)
    return BuildResult(
        build_id,
        published,
        dict(kinds),
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
    staging = _io(layout.new_staging, "cannot create the staging folder in", layout.releases)
    try:
        try:
            writer = DocumentWriter(staging, settings.compress)
            for feed, (total, window) in zip(pin.feeds, checked, strict=True):
                write_feed(settings, feed, writer, progress, total, window)
            if pin.several:
                with progress.phase("feeds"):
                    write_across_feeds(settings, pin, writer)
                remove_empty_folders(staging)
        except (BuildError, LookupError, ValueError):
            # Where the pin could not keep changes out, a pass may trip over rows another program wrote
            # meanwhile (a stop time whose stop its lookups never saw): that is the database changing,
            # exit 6 and a retry, not a broken feed or a crash.
            pin.ensure_unchanged()
            raise
        pin.ensure_unchanged()
        listed = write_manifest(staging, writer)
        build_id = build_id_of(listed)
        info = build_info(build_id, writer, started, changes_since(layout, listed))
        with progress.phase("sync"):
            return writer, build_id, finish_release(layout, staging, build_id, info)
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
    that feed alone writes, its hrefs starting with the folder."""
    name = "" if feed.record is None else f" {feed.record.feed_id}"
    with naming(feed), documents_under(feed.prefix):
        with progress.phase("documents" + name, total):
            write_views(settings, feed, writer, progress, window)
        with progress.phase("indexes" + name):
            write_single_passes(
                settings, feed.database, writer, window, [p for p in SINGLE_PASSES if p.when is None]
            )
        optional = [p for p in SINGLE_PASSES if p.when is not None and getattr(settings, p.when)]
        for pass_ in optional:  # last: they may read back every document written above
            with progress.phase(pass_.name + name):
                write_single_passes(settings, feed.database, writer, window, [pass_])


def write_across_feeds(settings: BuildSettings, pin: Pin, writer: DocumentWriter) -> None:
    """The root of a snapshot of several feeds (builder.snapshot.across), from their documents."""
    records = tuple(f.record for f in pin.feeds if f.record is not None)
    make = cast("Callable[[AcrossInput], Iterable[Made]]", ROOT_PASS.make())
    write_made(ROOT_PASS, make(AcrossInput(writer.staging, records, settings.site)), writer)


def _io(action: Callable[[], Any], doing: str, path: Path) -> Any:
    try:
        return action()
    except OSError as exc:
        raise io_error(exc, doing, exc.filename or path) from exc


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
            if k.made_by in split and k.ids is not None
        )
    source.engine.dispose()
    return total, window


def dates_window(settings: BuildSettings, source: Source, conn: Any) -> Window:
    """The dates departure boards are written for; by default 7 from today in the feed's timezone."""
    first = settings.departures_from
    if first is None:
        first = datetime.now(zone_named(feed_zone(load_agencies(source, conn)))).date()
    return Window(first, settings.departures_days)


def write_views(
    settings: BuildSettings, feed: PinnedFeed, writer: DocumentWriter, progress: Progress, window: Window
) -> None:
    """One feed's sorted passes, cut into id ranges that this process and its helpers take in turn."""
    problems, tally, database, staging = Problems(), Tally(progress), feed.database, writer.staging
    prepared = prepare_passes(database, staging, window)
    # a pass whose prepare found nothing to do (boards with a window of 0 days) gets no task
    passes = [p for p in SPLIT_PASSES if not p.prepare or prepared.get(p.name) is not None]
    tasks = (
        plan_tasks(settings, database, passes)
        if settings.workers > 1
        else [(p.name, EVERYTHING) for p in passes]
    )
    work = partial(
        run_pass,
        settings=settings,
        feed=feed,
        staging=staging,
        tally=tally,
        window=window,
        prepared=prepared,
    )
    results = run_shared(TaskBoard(tasks), work, helpers=settings.workers - 1, waiting=tally.show)
    for entries, found, written in results:
        writer.entries += entries
        writer.bytes_written += written
        problems += found
    if problems:
        raise unreliable(problems)


def prepare_passes(database: PinnedDatabase, staging: Path, window: Window) -> dict[str, Any]:
    """What split passes look up, read once here so that the forked helpers share it instead of each
    task reading it again (pass name -> what its `prepare` returned)."""
    prepared: dict[str, Any] = {}
    if not any(p.prepare for p in SPLIT_PASSES):
        return prepared
    source = database.source()
    with Spool(staging) as spool, source.connect() as conn:
        inp = PassInput(source, conn, load_lookups(source, conn), Problems(), spool, window=window)
        for pass_ in SPLIT_PASSES:
            if pass_.prepare:
                prepared[pass_.name] = pass_.prepared(inp)
    source.engine.dispose()
    return prepared


def plan_tasks(
    settings: BuildSettings, database: PinnedDatabase, passes: Iterable[Pass] = SPLIT_PASSES
) -> list[Task]:
    """Each split pass in the registry's order (the heavier first), cut into one id range of even weight
    per worker (the route pass by trips per route, the stop pass by stops, the boards by visits), so
    that no process idles while another finishes a whole pass."""
    tasks: list[Task] = []
    source = database.source()
    with source.connect() as conn:
        for pass_ in passes:
            assert pass_.split_by is not None
            weights = source.weights(conn, pass_.split_by.table, pass_.split_by.column)
            tasks += [(pass_.name, span) for span in split_evenly(weights, settings.workers)]
    source.engine.dispose()
    return tasks


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


def run_pass(
    task: Task,
    *,
    settings: BuildSettings,
    feed: PinnedFeed,
    staging: Path,
    tally: Tally,
    window: Window,
    prepared: dict[str, Any],
) -> tuple[list[Entry], list[str], int]:
    """One split pass of one feed over one id range: its own engine (engines do not cross processes),
    lookups, writes under the feed's folder."""
    name, span = task
    source = feed.database.source()
    writer, problems = DocumentWriter(staging, settings.compress), Problems()
    with documents_under(feed.prefix), Spool(staging) as spool, source.connect() as conn:
        lookups = load_lookups(source, conn)
        inp = PassInput(
            source, conn, lookups, problems, spool, span, window=window, prepared=prepared.get(name)
        )
        made = PASS_BY_NAME[name].make()(inp)
        write_made(PASS_BY_NAME[name], made, writer, tally)
    source.engine.dispose()
    tally.add(len(writer.entries) % BATCH)
    del lookups
    release_memory()
    return writer.entries, list(problems), writer.bytes_written


def write_made(pass_: Pass, made: Iterable[Made], writer: DocumentWriter, tally: Tally | None = None) -> None:
    """Write what a pass yields, each document where its kind's registry entry places it."""
    kinds = {name: kind(name) for name in pass_.kinds}
    for kind_name, id_, doc in made:
        document_kind = kinds.get(kind_name)
        if document_kind is None:
            raise BuildError(
                f"pass {pass_.name} made a {kind_name!r} document; builder.snapshot.kinds declares "
                f"it makes {', '.join(pass_.kinds)}"
            )
        writer.write(document_kind, id_, doc)
        if tally is not None and len(writer.entries) % BATCH == 0:
            tally.add(BATCH)


def write_single_passes(
    settings: BuildSettings,
    database: PinnedDatabase,
    writer: DocumentWriter,
    window: Window,
    passes: Iterable[Pass],
) -> None:
    """Passes the registry runs as one task each, in the build process, after the split passes."""
    source = database.source()
    problems = Problems()
    with Spool(writer.staging) as spool, source.connect() as conn:
        inp = PassInput(
            source, conn, load_lookups(source, conn), problems, spool, window=window, staging=writer.staging
        )
        for pass_ in passes:
            write_made(pass_, pass_.make()(inp), writer)
    source.engine.dispose()
    if problems:
        raise unreliable(problems)


def write_manifest(staging: Path, writer: DocumentWriter) -> bytes:
    data = Manifest.of(writer.entries).to_bytes()
    (staging / manifest.MANIFEST).write_bytes(data)
    return data


def changes_since(layout: OutputLayout, new: bytes) -> dict[str, Any] | None:
    """What this release changes against the one it replaces (None for the first release)."""
    previous = layout.current_build_id()
    if previous is None:
        return None
    try:
        old = manifest.read(layout.release(previous))
    except manifest.ManifestError:
        return None  # a damaged previous release must not stop the one that replaces it
    changes = diff_manifests(old, manifest.parse(new, "of the new release"))
    return {"against": previous, **changes.as_dict(limit=BUILD_INFO_IDS)}


def build_info(
    build_id: str, writer: DocumentWriter, started: float, changes: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything time-stamped lives here, outside the manifest, so releases stay byte-identical."""
    return {
        "build_id": build_id,
        "built_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "seconds": round(time.monotonic() - started, 3),
        "documents": dict(sorted(Counter(e.kind for e in writer.entries).items())),
        "bytes": writer.bytes_written,
        "host": os.uname().nodename,
        "changes": changes,
    }
