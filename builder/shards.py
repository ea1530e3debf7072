"""Sharded builds, for schedulers that hand each process an index (Kubernetes Indexed Jobs, AWS Batch array
jobs): `build --shard I/N --staging DIR` on each, then `build --merge DIR --out OUT` once.

Every shard pins its own database state, plans the whole build from it — each split pass cut into N
ranges of even weight, the same cut in every shard since it depends on the data alone — and runs its
part: range I of each split pass (shard 0 also the indexes and schemas), with --workers processes, into
a folder of its own under DIR (builder.release.shards). Its completion record carries the plan's
fingerprint: the plan, the settings that shape documents, and a digest of the database state it read
(PostgreSQL: each GTFS table's row count and sum of row versions, read in the shard's snapshot; SQLite:
the file's sha256; other databases: row counts). Shards run as separate processes, with no snapshot in
common: what they share is that fingerprint, and the merge refuses shards whose fingerprints differ,
so a database that changed between two shards is refused, never merged.

The merge needs no database: it checks the shards, links (or copies) their files into a staging
release, writes the optional passes made from the release alone (the site), the manifest, and publishes
exactly as `build` does: the same build id, byte for byte.
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
    _io,
    check_database,
    prepare_passes,
    publish_release,
    run_tasks_here,
    seal_release,
)
from builder.database import sqlite_file
from builder.errors import BuildError, ShardError, io_error
from builder.progress import Progress, Silent
from builder.release import shards as records
from builder.release.output import DocumentWriter, OutputLayout
from builder.snapshot.calendars import Window
from builder.snapshot.kinds import DEPARTURES, PASS_BY_NAME, SINGLE_PASSES, SITE, SITE_STOPS, SPLIT_PASSES
from builder.snapshot.pinning import PinnedDatabase, pin_database
from builder.snapshot.source import EVERYTHING, KeyRange, Source, unreliable
from builder.snapshot.tasks import Task, TaskResult, TaskSetup, split_evenly, within, write_made

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ShardResult:
    folder: Path
    documents: int
    bytes_written: int
    plan: str
    seconds: float


def build_shard(
    settings: BuildSettings, shard: int, shards: int, staging: Path, progress: Progress | None = None
) -> ShardResult:
    """Shard `shard` of `shards` of the build `settings` describes, into a new folder under `staging`."""
    started, progress = time.monotonic(), progress or Silent()
    if not 0 <= shard < shards <= records.MAX_SHARDS:
        raise ShardError(f"--shard must be I/N with 0 <= I < N <= {records.MAX_SHARDS}, got {shard}/{shards}")
    folder = _io(lambda: records.new_attempt(staging, shard, shards), "cannot write into", staging)
    try:
        result, fingerprint = _write_shard(settings, shard, shards, staging, folder, progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing (a killed one, no record)
        raise
    record = {"shard": shard, "shards": shards, "plan": fingerprint, "compress": list(settings.compress)}
    _io(lambda: records.complete(folder, result.entries, record), "cannot write the shard into", folder)
    return ShardResult(
        folder, len(result.entries), result.bytes_written, fingerprint, time.monotonic() - started
    )


def _write_shard(
    settings: BuildSettings, shard: int, shards: int, staging: Path, folder: Path, progress: Progress
) -> tuple[TaskResult, str]:
    with pin_database(settings.db_url, lambda: _scratch(staging)) as pin:
        if pin.several:
            raise ShardError(
                "--shard builds a database of one feed; one of several feeds (import --feed) is not "
                "sharded yet: build it on one machine or with --scheduler"
            )
        with progress.phase("check"):
            total, window = check_database(settings, pin.database)
        setup = TaskSetup(pin.database, folder, window, settings.compress)
        prepared = prepare_passes(setup, SPLIT_PASSES)
        fingerprint, mine = shard_plan(settings, pin.database, window, shards, shard, prepared)
        with progress.phase("documents", total // shards):
            result = run_tasks_here(mine, setup, prepared, settings.workers, progress)
        pin.ensure_unchanged()
    if result.problems:
        raise unreliable(result.problems)
    return result, fingerprint


def _scratch(staging: Path) -> Path:
    """Where a shard pins a SQLite file (a hard link), beside the shards; removed when the shard ends."""
    folder = staging / f".pin-{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def shard_plan(
    settings: BuildSettings,
    database: PinnedDatabase,
    window: Window,
    shards: int,
    shard: int,
    prepared: dict[str, Any],
) -> tuple[str, list[Task]]:
    """The fingerprint of the whole plan (every shard's tasks: the same in every shard that reads the
    same state), and this shard's tasks, cut again into one range per local worker."""
    split = [p for p in SPLIT_PASSES if not p.prepare or prepared.get(p.name) is not None]
    plan: list[list[Task]] = [[] for _ in range(shards)]
    mine: list[Task] = []
    source = database.source()
    try:
        with source.connect() as conn:
            for pass_ in split:
                assert pass_.split_by is not None
                weights = source.weights(conn, pass_.split_by.table, pass_.split_by.column)
                for index, span in enumerate(split_evenly(weights, shards)):
                    plan[index].append(Task(pass_.name, span))
                    if index == shard:
                        mine += subdivide(pass_.name, span, within(span, weights), settings.workers)
            state = database_digest(source, conn, database)
    finally:
        source.engine.dispose()
    singles = [Task(p.name) for p in SINGLE_PASSES if p.when is None]  # indexes and schemas: shard 0's
    plan[0] += singles
    if shard == 0:
        mine += singles
    described = {
        "version": metadata.version("transit-snapshot"),
        "shards": [[[t.pass_name, t.span.low, t.span.high] for t in tasks] for tasks in plan],
        "window": [window.first.isoformat(), window.days],
        "compress": list(settings.compress),
        "database": state,
    }
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest(), mine


def subdivide(pass_name: str, outer: KeyRange, weights: list[tuple[str, int]], parts: int) -> list[Task]:
    """`outer` cut into `parts` ranges of even weight for a shard's own processes."""
    spans = split_evenly(weights, parts)
    spans[0] = KeyRange(outer.low, spans[0].high)
    spans[-1] = KeyRange(spans[-1].low, outer.high)
    return [Task(pass_name, span) for span in spans]


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
    compress = tuple(shards[0].record.get("compress") or ())
    layout = OutputLayout(out_dir)
    with layout.locked():
        _io(layout.remove_stale_staging, "cannot remove stale staging under", layout.releases)
        staging = _io(layout.new_staging, "cannot create the staging folder in", layout.releases)
        try:
            writer, seen = DocumentWriter(staging, compress), set[str]()
            with progress.phase("documents", sum(len(s.entries) for s in shards)):
                for shard in shards:
                    gather(shard, staging, writer, seen)
                    progress.advance(len(writer.entries))
            if site:  # the optional passes, made from the release's own documents: no database here
                with progress.phase(SITE):
                    from builder.site import route_documents, stop_documents, stop_weeks

                    # the stops' weeks, which the boards pass writes with --site, from the boards' JSON
                    write_made(PASS_BY_NAME[DEPARTURES], stop_weeks(staging), writer)
                    write_made(PASS_BY_NAME[SITE], route_documents(staging, EVERYTHING), writer)
                    write_made(PASS_BY_NAME[SITE_STOPS], stop_documents(staging, EVERYTHING), writer)
            build_id, is_new = seal_release(layout, staging, writer, started, progress)
        except OSError as exc:
            raise io_error(exc, "cannot write the release") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return publish_release(layout, writer, build_id, is_new, keep, started, progress)


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
    writer.entries += shard.entries
    writer.bytes_written += int(shard.record.get("bytes") or 0)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, target)
