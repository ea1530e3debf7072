"""The site pass alone, in one process, over a real build (its timetables, GeoJSON and DAYS dates of
departure boards from the build benchmark's neutral window): `python -m tests.benchmarks site` gives the
page phase only as a difference of two builds' walls, this gives its own CPU time and peak RSS.

    python -m tests.benchmarks.site_phase FEED.zip WORK_DIR DAYS [WORKERS]

The first run makes the import and the `build --site` in WORK_DIR and stops (its peak RSS would be
theirs); each later run renders every page again, from that release's documents (the stop pages from the
stops' weeks its boards pass wrote), into a fresh folder of WORK_DIR and prints its wall and CPU time, peak RSS,
pages, bytes, and the largest pages. With WORKERS (default 1: one process, `site_documents`), the pages
are made as `build --site --workers WORKERS` makes them: ranges of routes by trips and of stops by
visits, taken by this process and WORKERS - 1 forked helpers; the CPU time is then all
the processes' and the peak RSS the largest of one process.
"""

from __future__ import annotations

import resource
import secrets
import shutil
import sys
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from builder.release.manifest import Entry
from builder.release.output import DocumentWriter
from builder.site import Common, route_documents, site_documents, stop_documents
from builder.site.reader import Release
from builder.snapshot.kinds import kind
from builder.snapshot.passkit import Made
from builder.snapshot.running import OPTIONAL_TASKS_PER_WORKER
from builder.snapshot.source import KeyRange, Source, open_engine
from builder.snapshot.tasks import split_evenly
from builder.snapshot.workers import TaskBoard, run_shared
from tests.benchmarks.build_bench import board_start


def prepare(feed: Path, work: Path, days: int) -> Path | None:
    """The real release; None when it had to be made now."""
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'gtfs.sqlite'}"
    if not (work / "gtfs.sqlite").exists():
        import_feed(feed, db_url=url)
    folder = work / "release"
    if not (folder / "feed.json").exists():
        result = build(
            BuildSettings(
                db_url=url,
                out_dir=work / "out",
                workers=2,
                departures_from=board_start(work / "gtfs.sqlite"),
                departures_days=days,
                site=True,  # the stops' weeks the stop pages read come from the boards pass
            )
        )
        shutil.copytree(result.release, folder)
        return None
    return folder


def render(folder: Path, work: Path, workers: int = 1) -> str:
    """Reads the release in `folder`, writes the pages into a new folder (a fresh disk area each run)."""
    dest = work / f"pages-{secrets.token_hex(4)}"
    for sub in ("routes", "stops", "timetables", "site"):
        (dest / sub).mkdir(parents=True)
    before, started = _cpu(), time.monotonic()
    writer = DocumentWriter(dest)
    if workers == 1:
        write_all(writer, site_documents(folder))
    else:
        common = Common.of(Release(folder))  # as the site passes' prepare reads it, before the fork
        for entries, written in run_shared(
            TaskBoard(site_tasks(work, workers)),
            partial(render_task, folder, dest, common),
            helpers=workers - 1,
        ):
            writer.log.extend(entries)
            writer.bytes_written += written
    wall, cpu = time.monotonic() - started, _cpu() - before
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    largest = sorted(((e.bytes, e.path) for e in writer.entries), reverse=True)[:3]
    return (
        f"site pass ({workers} process{'es' if workers > 1 else ''}): {len(writer.entries):,} pages and "
        f"assets, {writer.bytes_written / 1e6:.1f} MB in {wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS "
        f"{rss / 1024:.0f} MB (one process); largest: {', '.join(f'{p} {b / 1e6:.2f} MB' for b, p in largest)}"
    )


def _cpu() -> float:
    return sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def write_all(writer: DocumentWriter, made: Iterable[Made]) -> None:
    for kind_name, id_, doc in made:
        writer.write(kind(kind_name), id_, doc)


def site_tasks(work: Path, workers: int) -> list[tuple[str, KeyRange]]:
    """As the build plans them: ranges of routes by trips, then ranges of stops by visits."""
    source = Source(open_engine(f"sqlite:///{work / 'gtfs.sqlite'}"))
    with source.connect() as conn:
        weights = source.weights(conn, "stop_times", "stop_id")
        trips = source.weights(conn, "trips", "route_id")
    source.engine.dispose()
    parts = workers * OPTIONAL_TASKS_PER_WORKER
    return [("routes", span) for span in split_evenly(trips, parts)] + [
        ("stops", span) for span in split_evenly(weights, parts)
    ]


def render_task(
    folder: Path, dest: Path, common: Common, task: tuple[str, KeyRange]
) -> tuple[list[Entry], int]:
    writer, (pages, span) = DocumentWriter(dest), task
    write_all(writer, (route_documents if pages == "routes" else stop_documents)(folder, span, common))
    return writer.entries, writer.bytes_written


if __name__ == "__main__":
    feed_zip, work_dir, window_days = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    processes = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    release = prepare(feed_zip, work_dir, window_days)
    if release is None:
        print(f"prepared {work_dir}; run again to measure the site pass", flush=True)
    else:
        print(render(release, work_dir, processes), flush=True)
