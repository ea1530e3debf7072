"""`build()`: from a GTFS database to a published snapshot. Read it as the table of contents of a build."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from builder.compress import parse_codings
from builder.errors import BuildError, FeedError
from builder.indexes import index_documents, schema_documents
from builder.keys import href_for
from builder.lookups import load_lookups
from builder.output import DocumentWriter, OutputLayout, build_id_of, finish_release, manifest_bytes, publish
from builder.source import Source, open_engine
from builder.views import Problems, route_and_trip_views, stop_views

PASSES = {"routes-and-trips": route_and_trip_views, "stops": stop_views}


@dataclass(frozen=True)
class BuildSettings:
    db_url: str
    out_dir: Path = Path("output")
    workers: int = 2  # the two passes run in parallel processes when > 1
    # content-codings to precompress every document with (builder.compress): sidecars beside each file
    compress: tuple[str, ...] = ()

    def __post_init__(self) -> None:
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
    warnings: list[str] = field(default_factory=list)


def build(settings: BuildSettings) -> BuildResult:
    started = time.monotonic()
    layout = OutputLayout(settings.out_dir)
    with layout.locked():
        layout.remove_stale_staging()
        check_database(settings)
        staging = layout.new_staging()
        try:
            writer = write_views(settings, staging)
            write_indexes_and_schemas(settings, writer)
            manifest = write_manifest(staging, writer)
            build_id = build_id_of(manifest)
            info = build_info(build_id, writer, started)
            is_new = finish_release(layout, staging, build_id, info)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        published = is_new or layout.current_build_id() != build_id
        if published:
            publish(layout, build_id)
    kinds = Counter(e["kind"] for e in writer.entries)
    return BuildResult(build_id, published, dict(kinds), writer.bytes_written,
                       time.monotonic() - started, layout.release(build_id))


def check_database(settings: BuildSettings) -> None:
    source = Source(open_engine(settings.db_url))
    with source.connect() as conn:
        source.check_integrity(conn)


def write_views(settings: BuildSettings, staging: Path) -> DocumentWriter:
    """The two sorted passes, side by side in their own processes when workers allow."""
    writer = DocumentWriter(staging, settings.compress)
    problems = Problems()
    if settings.workers > 1:
        with ProcessPoolExecutor(max_workers=min(settings.workers, len(PASSES))) as pool:
            futures = [pool.submit(run_pass, name, settings, staging) for name in PASSES]
            results = [f.result() for f in futures]
    else:
        results = [run_pass(name, settings, staging) for name in PASSES]
    for entries, found, written in results:
        writer.entries += entries
        writer.bytes_written += written
        problems += found
    if problems:
        raise FeedError("the database breaks rules the snapshot relies on; nothing was published:", problems)
    return writer


def run_pass(name: str, settings: BuildSettings, staging: Path) -> tuple[list[dict[str, Any]], list[str], int]:
    """One pass in this process: its own engine (engines do not cross processes), lookups and writes."""
    source = Source(open_engine(settings.db_url))
    writer, problems = DocumentWriter(staging, settings.compress), Problems()
    with source.connect() as conn:
        lookups = load_lookups(source, conn)
        for kind, id_, doc in PASSES[name](source, conn, lookups, problems):
            writer.write(href_for(kind, id_), kind, id_, doc)
    source.engine.dispose()
    return writer.entries, list(problems), writer.bytes_written


def write_indexes_and_schemas(settings: BuildSettings, writer: DocumentWriter) -> None:
    source = Source(open_engine(settings.db_url))
    with source.connect() as conn:
        for path, kind, doc in index_documents(source, conn, load_lookups(source, conn)):
            writer.write(path, kind, None, doc)
    for path, kind, doc in schema_documents():
        writer.write(path, kind, None, doc)


def write_manifest(staging: Path, writer: DocumentWriter) -> bytes:
    manifest = manifest_bytes(writer.entries)
    (staging / "manifest.json").write_bytes(manifest)
    return manifest


def build_info(build_id: str, writer: DocumentWriter, started: float) -> dict[str, Any]:
    """Everything time-stamped lives here, outside the manifest, so releases stay byte-identical."""
    return {
        "build_id": build_id,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 3),
        "documents": dict(sorted(Counter(e["kind"] for e in writer.entries).items())),
        "bytes": writer.bytes_written,
        "host": os.uname().nodename,
    }
