"""Sharded builds, for schedulers that hand each process an index (Kubernetes Indexed Jobs, AWS Batch array
jobs): `build --shard I/N --staging DIR` on each, then `build --merge DIR --out OUT` once.

Every shard pins its own database state, plans the whole build from it — each split pass cut into N
ranges of even weight across every feed's ids (a database of several feeds, `import --feed`: a range
may end one feed and start the next), the same cut in every shard since it depends on the data alone —
and runs its part: range I of each split pass, and the indexes and schemas of the feeds whose turn it is
(feed F's in shard F mod N), feed after feed, with --workers processes, into a folder of its own under
DIR (builder.release.shards). Its completion record carries the feeds' registry rows (the root's
documents need them) and the plan's fingerprint: the plan, the feeds, the settings that shape documents,
and a digest of each feed's database state (PostgreSQL: each GTFS table's row count and sum of row
versions, read in the shard's snapshot; SQLite: the file's sha256; other databases: row counts). Shards
run as separate processes, with no snapshot in common: what they share is that fingerprint, and the
merge refuses shards whose fingerprints differ, so a database that changed between two shards is
refused, never merged.

The merge needs no database: it checks the shards, links (or copies) their files into a staging
release, writes the optional passes made from the release alone (the site, per feed), the root of
several feeds (feeds.json, routes.json, stops.json: from the feeds' documents), the manifest, and
publishes exactly as `build` does: the same build id, byte for byte.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from builder import gtfs
from builder.build import (
    BuildResult,
    BuildSettings,
    check_database,
    publish_release,
    seal_release,
    write_across_feeds,
)
from builder.database import sqlite_file
from builder.errors import BuildError, ShardError, guarded_io, io_error
from builder.feeds import FeedRecord
from builder.progress import Progress, Silent
from builder.release import shards as records
from builder.release.entries import EntryLog
from builder.release.manifest import Entry
from builder.release.output import DocumentWriter, OutputLayout
from builder.snapshot.across import naming, remove_empty_folders
from builder.snapshot.calendars import Window
from builder.snapshot.kinds import (
    DEPARTURES,
    PASS_BY_NAME,
    SINGLE_PASSES,
    SITE,
    SITE_STOPS,
    SPLIT_PASSES,
    documents_under,
)
from builder.snapshot.pinning import PinnedDatabase, PinnedFeed, pin_database
from builder.snapshot.running import prepare_passes, run_tasks_here
from builder.snapshot.source import EVERYTHING, Source, unreliable
from builder.snapshot.tasks import (
    Piece,
    Task,
    TaskResult,
    TaskSetup,
    Weights,
    split_across,
    split_pass,
    within,
    write_made,
)

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ShardResult:
    folder: Path
    documents: int
    bytes_written: int
    plan: str
    seconds: float


@dataclass(frozen=True)
class ShardPlan:
    """The whole sharded build, as every shard of one database state plans it."""

    fingerprint: str  # of the plan, the settings that shape documents and the database state
    shards: list[list[Piece]]  # each shard's tasks: (feed index, task)
    weights: list[dict[str, Weights]]  # each feed's, by split pass: to cut a shard's ranges again


def build_shard(
    settings: BuildSettings, shard: int, shards: int, staging: Path, progress: Progress | None = None
) -> ShardResult:
    """Shard `shard` of `shards` of the build `settings` describes, into a new folder under `staging`."""
    started, progress = time.monotonic(), progress or Silent()
    if not 0 <= shard < shards <= records.MAX_SHARDS:
        raise ShardError(f"--shard must be I/N with 0 <= I < N <= {records.MAX_SHARDS}, got {shard}/{shards}")
    folder = guarded_io(lambda: records.new_attempt(staging, shard, shards), "cannot write into", staging)
    try:
        result, fingerprint, feeds = _write_shard(settings, shard, shards, staging, folder, progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing (a killed one, no record)
        raise
    record = {
        "shard": shard,
        "shards": shards,
        "plan": fingerprint,
        "compress": list(settings.compress),
        "feeds": records.described_feeds(feeds),
    }
    guarded_io(
        lambda: records.complete(folder, _entries(folder, result), record),
        "cannot write the shard into",
        folder,
    )
    return ShardResult(
        folder, result.documents, result.bytes_written, fingerprint, time.monotonic() - started
    )


def _entries(folder: Path, result: TaskResult) -> list[Entry]:
    """The shard's manifest entries, read back from its tasks' runs (which then go: they are not
    documents of the shard)."""
    log = EntryLog.under(folder)
    log.adopt(result.runs, result.kinds)
    entries = list(log.entries())
    log.remove()
    return entries


def _write_shard(
    settings: BuildSettings, shard: int, shards: int, staging: Path, folder: Path, progress: Progress
) -> tuple[TaskResult, str, tuple[FeedRecord, ...]]:
    """The shard's tasks of every feed, feed after feed (as a one-machine build writes them), each under
    its folder; the plan's fingerprint and the feeds imported with --feed (none: one unnamed feed)."""
    with pin_database(settings.db_url, lambda: _scratch(staging)) as pin:
        with progress.phase("check"):
            checked = []
            for feed in pin.feeds:
                with naming(feed):
                    checked.append(check_database(settings, feed.database))
        windows = [window for _, window in checked]
        plan = shard_plan(settings, pin.feeds, windows, shards)
        results = []
        for index, (feed, (total, window)) in enumerate(zip(pin.feeds, checked, strict=True)):
            mine = [task for f, task in plan.shards[shard] if f == index]
            if not mine:  # a small feed whose ranges are all other shards'
                results.append(TaskResult())
                continue
            setup = TaskSetup(feed.database, folder, window, settings.compress, prefix=feed.prefix)
            name = "" if feed.record is None else f" {feed.record.feed_id}"
            with naming(feed), progress.phase("documents" + name, total // shards):
                results.append(_run_feed(setup, mine, plan.weights[index], settings.workers, progress))
        pin.ensure_unchanged()
    whole = TaskResult()
    for feed, result in zip(pin.feeds, results, strict=True):
        if result.problems:
            with naming(feed):
                raise unreliable(result.problems)
        whole.add(result)
    named = tuple(f.record for f in pin.feeds if f.record is not None)
    return whole, plan.fingerprint, named


def _run_feed(
    setup: TaskSetup, mine: list[Task], weights: dict[str, Weights], workers: int, progress: Progress
) -> TaskResult:
    """A shard's tasks of one feed, each split pass's range cut again into one per local process."""
    prepared = prepare_passes(setup, dict.fromkeys(PASS_BY_NAME[t.pass_name] for t in mine))
    # a pass whose prepare found nothing to do (boards with a window of 0 days) gets no task
    kept = [t for t in mine if not PASS_BY_NAME[t.pass_name].prepare or prepared.get(t.pass_name) is not None]
    tasks = [part for task in kept for part in subdivide(task, weights, workers)]
    return run_tasks_here(tasks, setup, prepared, workers, progress)


def _scratch(staging: Path) -> Path:
    """Where a shard pins a SQLite file (a hard link), beside the shards; removed when the shard ends."""
    folder = staging / f".pin-{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def shard_plan(
    settings: BuildSettings, feeds: tuple[PinnedFeed, ...], windows: list[Window], shards: int
) -> ShardPlan:
    """Every shard's tasks — each split pass cut into `shards` ranges of even weight across every feed's
    ids (a small feed shares a shard's range with the next, a large one spreads over several); each
    feed's indexes and schemas in one shard, the feeds taking turns — and the fingerprint of it all. The
    same in every shard that reads the same state."""
    weights, states = [], []
    for feed in feeds:
        feed_weights, state = _read_feed(feed.database)
        weights.append(feed_weights)
        states.append(state)
    plan: list[list[Piece]] = [[] for _ in range(shards)]
    for pass_ in SPLIT_PASSES:
        for index, part in enumerate(split_pass(weights, pass_.name, shards)):
            plan[index] += part
    for index in range(len(feeds)):
        plan[index % shards] += [(index, Task(p.name)) for p in SINGLE_PASSES if p.when is None]
    described = {
        "version": metadata.version("transit-snapshot"),
        "shards": [
            [[feeds[f].prefix, t.pass_name, t.span.low, t.span.high] for f, t in tasks] for tasks in plan
        ],
        "feeds": records.described_feeds(tuple(f.record for f in feeds if f.record is not None)),
        "windows": [[w.first.isoformat(), w.days] for w in windows],
        "compress": list(settings.compress),
        "database": states,
    }
    fingerprint = hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return ShardPlan(fingerprint, plan, weights)


def _read_feed(database: PinnedDatabase) -> tuple[dict[str, Weights], list[Any]]:
    """One feed's split passes' weights and the digest of its state, in one transaction."""
    source = database.source()
    try:
        with source.connect() as conn:
            weights = {
                p.name: source.weights(conn, p.split_by.table, p.split_by.column)
                for p in SPLIT_PASSES
                if p.split_by is not None
            }
            return weights, database_digest(source, conn, database)
    finally:
        source.engine.dispose()


def subdivide(task: Task, weights: dict[str, Weights], parts: int) -> list[Task]:
    """A split pass's task of a shard cut into `parts` ranges of even weight for the shard's own
    processes (a single pass's task as it is)."""
    if task.pass_name not in weights:
        return [task]
    cut = split_across([(task.span, within(task.span, weights[task.pass_name]))], parts)
    return [Task(task.pass_name, span) for part in cut for _, span in part]


def database_digest(source: Source, conn: Connection, database: PinnedDatabase) -> list[Any]:
    """What identifies the database state a shard read (see the module docstring)."""
    tables = sorted(t for t in source.metadata.tables if t in gtfs.TABLES)
    path = sqlite_file(database.url)
    if path is not None:
        return ["sqlite", _file_sha256(path)]
    quote = conn.dialect.identifier_preparer.quote
    if source.is_postgres:
        measure = "count(*), coalesce(sum(xmin::text::bigint), 0)::text"
        return ["postgresql"] + [
            [t, *conn.exec_driver_sql(f"SELECT {measure} FROM {quote(t)}").one()] for t in tables
        ]
    return ["rows"] + [
        [t, conn.exec_driver_sql(f"SELECT count(*) FROM {quote(t)}").scalar_one()] for t in tables
    ]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- the merge -------------------------------------------------------------------------------------------


def merge_shards(
    staging_dir: Path,
    out_dir: Path,
    *,
    keep: int | None = None,
    site: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Check the shards under `staging_dir`, then publish them into `out_dir` as one release."""
    started, progress = time.monotonic(), progress or Silent()
    with progress.phase("check"):
        shards = records.read_shards(staging_dir)
        feeds = records.feeds_of(staging_dir, shards)
    compress = tuple(shards[0].record.get("compress") or ())
    layout = OutputLayout(out_dir)
    with layout.locked():
        guarded_io(layout.remove_stale_staging, "cannot remove stale staging under", layout.releases)
        staging = guarded_io(layout.new_staging, "cannot create the staging folder in", layout.releases)
        try:
            writer, seen = DocumentWriter(staging, compress, log=EntryLog.under(staging)), set[str]()
            with progress.phase("documents", sum(len(s.entries) for s in shards)):
                for shard in shards:
                    gather(shard, staging, writer, seen)
                    progress.advance(writer.log.documents)
            if site:  # the optional passes, made from the release's own documents: no database here
                with progress.phase(SITE):
                    for prefix in [f.prefix for f in feeds] or [""]:
                        write_site(writer, prefix)
            if feeds:  # the root of several feeds, from their documents as a build writes it
                with progress.phase("feeds"):
                    write_across_feeds(feeds, site, writer)
                remove_empty_folders(staging)
            build_id, is_new = seal_release(layout, staging, writer, started, progress)
        except OSError as exc:
            raise io_error(exc, "cannot write the release") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return publish_release(layout, writer, build_id, is_new, keep, started, progress)


def write_site(writer: DocumentWriter, prefix: str) -> None:
    """One feed's site (under its folder `prefix`, "" for one unnamed feed), in this process."""
    from builder.site import route_documents, stop_documents, stop_weeks

    with documents_under(prefix):
        # the stops' weeks, which the boards pass writes with --site, from the boards' JSON
        write_made(PASS_BY_NAME[DEPARTURES], stop_weeks(writer.staging), writer)
        write_made(PASS_BY_NAME[SITE], route_documents(writer.staging, EVERYTHING), writer)
        write_made(PASS_BY_NAME[SITE_STOPS], stop_documents(writer.staging, EVERYTHING), writer)


def gather(shard: records.Shard, staging: Path, writer: DocumentWriter, seen: set[str]) -> None:
    """Every file of the shard into the staging release: hard-linked where the filesystem allows (the
    shard keeps its copy, so a failed merge can be run again), copied otherwise; each one's size checked
    against the shard's manifest part."""
    made: set[str] = set()
    for entry in shard.entries:
        for path, _, size, _ in entry.files():
            source, target = shard.folder / path, staging / path
            parent = os.path.dirname(path)
            if parent and parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(parent)
            try:
                found = source.stat().st_size
            except FileNotFoundError:
                found = -1
            if found != size:
                where = "is missing" if found < 0 else f"has {found} bytes, its manifest part says {size}"
                raise ShardError(
                    f"cannot merge: shard {shard.index}'s {path} {where} ({shard.folder}); nothing was published"
                )
            _link_or_copy(source, target)
        if entry.path in seen:  # only shards of one plan get here, so only a bug would do this
            raise BuildError(f"cannot merge: {entry.path} is in two shards; nothing was published")
        seen.add(entry.path)
    writer.log.extend(shard.entries)
    writer.bytes_written += int(shard.record.get("bytes") or 0)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, target)
