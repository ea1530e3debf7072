"""Import memory against feed size (issue 14): synthetic feeds of growing size (tests/sized_feed.py), each
imported by `transit-snapshot import` into a fresh SQLite file (or into --db), with wall time, CPU, peak
RSS (tests.benchmarks.measure) and the database's size.

    .venv/bin/python -m tests.benchmarks.import_memory --sizes 400000,2400000,8600000
    .venv/bin/python -m tests.benchmarks.import_memory --cli /path/to/older/.venv/bin/transit-snapshot

A feed is written once into --work and kept for later runs (8.6M stop times are 0.5 GB of CSV).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.benchmarks.measure import run, table
from tests.sized_feed import write_sized_feed

OURS = str(Path(sys.executable).with_name("transit-snapshot"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="400000,2400000,8600000", help="stop times of each feed")
    parser.add_argument("--work", type=Path, default=Path("/tmp/transit-snapshot-bench/import-memory"))
    parser.add_argument("--cli", default=OURS, help="the transit-snapshot to measure")
    parser.add_argument("--db", help="a database URL to import into instead of a fresh SQLite file")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        feed = args.work / f"feed{size}"
        if not (feed / "stop_times.txt").is_file():
            write_sized_feed(feed, size)
        db = args.work / f"import{size}.sqlite"
        db.unlink(missing_ok=True)
        sample = run([args.cli, "import", str(feed), "--db", args.db or f"sqlite:///{db}"])
        written = f"{db.stat().st_size / 2**20:.0f}" if db.exists() else "-"
        rows.append([f"{size:,}", f"{sample.wall:.1f}", f"{sample.cpu:.1f}", f"{sample.rss_mb:.0f}", written])
        db.unlink(missing_ok=True)
    print(table(["stop times", "wall s", "cpu s", "peak RSS MB", "database MB"], rows))


if __name__ == "__main__":
    main()
