"""The site pass alone, in one process, over a real build (its timetables, GeoJSON and DAYS dates of
departure boards from the build benchmark's neutral window): `python -m tests.benchmarks site` gives the
page phase only as a difference of two builds' walls, this gives its own CPU time and peak RSS.

    python -m tests.benchmarks.site_phase FEED.zip WORK_DIR DAYS

The first run makes the import and the build in WORK_DIR and stops (its peak RSS would be theirs); each
later run renders every page into a fresh folder of WORK_DIR and prints its wall and CPU time, peak RSS,
pages, bytes, and the largest pages.
"""

from __future__ import annotations

import resource
import secrets
import shutil
import sys
import time
from pathlib import Path

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from builder.release.output import DocumentWriter
from builder.site import site_documents
from builder.snapshot.kinds import kind
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
            )
        )
        shutil.copytree(result.release, folder)
        return None
    return folder


def render(folder: Path, work: Path) -> str:
    """Reads the release in `folder`, writes the pages into a new folder (a fresh disk area each run)."""
    dest = work / f"pages-{secrets.token_hex(4)}"
    for sub in ("routes", "stops", "timetables", "site"):
        (dest / sub).mkdir(parents=True)
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    writer = DocumentWriter(dest)
    for kind_name, id_, doc in site_documents(folder):
        writer.write(kind(kind_name), id_, doc)
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    largest = sorted(((e.bytes, e.path) for e in writer.entries), reverse=True)[:3]
    return (
        f"site pass: {len(writer.entries):,} pages and assets, {writer.bytes_written / 1e6:.1f} MB in "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS {after.ru_maxrss / 1024:.0f} MB (the process); "
        f"largest: {', '.join(f'{p} {b / 1e6:.2f} MB' for b, p in largest)}"
    )


if __name__ == "__main__":
    feed_zip, work_dir, window_days = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    release = prepare(feed_zip, work_dir, window_days)
    if release is None:
        print(f"prepared {work_dir}; run again to measure the site pass", flush=True)
    else:
        print(render(release, work_dir), flush=True)
