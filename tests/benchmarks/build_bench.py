"""build: our full `transit-snapshot build` beside floor_build.py and naive_build.py on the same database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tests.benchmarks.feeds import BASELINES, Feed
from tests.benchmarks.measure import Sample, folder_size, largest_file, median, run, table

OURS = str(Path(sys.executable).with_name("transit-snapshot"))


@dataclass(frozen=True)
class Program:
    name: str
    command: Callable[[Feed, Path], list[str]]
    written: Callable[[Path], Path]  # the folder holding what it wrote, given its output dir


BOARD_DAYS = 7
NO_BOARDS = ("--departures-days", "0")


def build_command(db: Path, out: Path, workers: int, *options: str) -> list[str]:
    """`transit-snapshot build` of the SQLite file `db` into `out`, quiet, as every build benchmark runs it."""
    return [
        OURS,
        "build",
        "--quiet",
        "--workers",
        str(workers),
        "--db",
        f"sqlite:///{db}",
        "--out",
        str(out),
        *options,
    ]


def ours(workers: int, boards: bool = False) -> Program:
    """Our build; without departure boards (`--departures-days 0`: the contract the baselines build), or
    with a 7-day window starting on the Monday after the middle of the feed's service period."""

    def command(f: Feed, out: Path) -> list[str]:
        window = ["--departures-from", f"{board_start(f.db):%Y%m%d}", "--departures-days", str(BOARD_DAYS)]
        return build_command(f.db, out, workers, *(window if boards else NO_BOARDS))

    name = f"ours+boards (workers={workers}, {BOARD_DAYS} days)" if boards else f"ours (workers={workers})"
    return Program(name, command, lambda out: out / "current")


def board_start(db: Path) -> date:
    """A neutral window: the first Monday on or after the middle of the calendar's dates."""
    with sqlite3.connect(db) as con:
        rows = (
            con.execute("SELECT min(start_date), max(end_date) FROM calendar").fetchall()
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'calendar'").fetchone()
            else []
        )
        if not rows or rows[0][0] is None:
            rows = con.execute("SELECT min(date), max(date) FROM calendar_dates").fetchall()
    first, last = (date(int(str(v)[:4]), int(str(v)[4:6]), int(str(v)[6:8])) for v in rows[0])
    middle = first + (last - first) / 2
    return middle + timedelta(days=-middle.weekday() % 7)


FLOOR = Program(
    "floor",
    lambda f, out: [sys.executable, str(BASELINES / "floor_build.py"), str(f.db), str(out)],
    lambda out: out,
)
NAIVE = Program(
    "naive",
    lambda f, out: [sys.executable, str(BASELINES / "naive_build.py"), str(f.db), str(out)],
    lambda out: out,
)


def programs(workers: Sequence[int]) -> dict[str, Program]:
    """Ours first (the first worker count is the default build, the one the ratios use), ours with departure
    boards, then the baselines."""
    return {p.name: p for p in [*map(ours, workers), ours(workers[0], boards=True), FLOOR, NAIVE]}


@dataclass
class Result:
    samples: list[Sample]
    documents: int = 0
    bytes: int = 0
    largest: int = 0
    largest_timetable: tuple[str, int] = ("", 0)  # our build's: (file name, bytes)

    def wall(self) -> float:
        return median([s.wall for s in self.samples])

    def cpu(self) -> float:
        return median([s.cpu for s in self.samples])

    def rss(self) -> float:
        return median([s.rss_mb for s in self.samples])


# Outputs are deleted only when a benchmark ends, never between runs. This disk's ext4 has no journal,
# and without one ext4 will not reuse an inode deleted less than 60 s ago (360 s while its inode table
# block is still dirty): every file created meanwhile first skips over the recently deleted ones
# (recently_deleted() in fs/ext4/ialloc.c, 24% of a build's samples in `perf record`). Measured:
# floor_build.py spent 4.3 s of system time creating its 17k files right after a 17k-file output was
# deleted, 0.85 s on a disk left alone; whichever program ran after a deletion paid for it. So nothing
# is deleted between runs, and a benchmark starts only once the last one's deletions have aged out.
# New files land in the same inode table blocks as the deleted ones and dirty them again, so the window
# is the dirty one: 65 s after a sync was measured too short (floor_build.py still at 11.5 s, perf
# still showing recently_deleted on top).
OUTPUTS = "outputs"
REMOVED_STAMP = "outputs-removed-at"
SETTLE_SECONDS = 370  # 360 s and a margin
SPARE_BYTES = 4 << 30


def output_of(program: Program, feed: Feed, run: int, work: Path) -> Path:
    return (
        work / OUTPUTS / "".join(c for c in f"{program.name}-{feed.name}-{run}" if c.isalnum() or c in "-_+=")
    )


def run_once(program: Program, feed: Feed, work: Path, result: Result) -> None:
    out = output_of(program, feed, len(result.samples), work)
    shutil.rmtree(out, ignore_errors=True)
    free = shutil.disk_usage(work).free
    if free < SPARE_BYTES + 2 * result.bytes:
        raise SystemExit(
            f"{free >> 30} GiB free under {work}: not enough to keep every output until the "
            "end (use --work on a larger disk, or fewer --runs)"
        )
    result.samples.append(run(program.command(feed, out), sync=True))
    result.documents, result.bytes, result.largest = folder_size(program.written(out))
    result.largest_timetable = largest_file(program.written(out) / "timetables")


def remove_outputs(work: Path) -> None:
    shutil.rmtree(work / OUTPUTS, ignore_errors=True)
    (work / REMOVED_STAMP).write_text(f"{time.time()}\n")


def settle(work: Path) -> None:
    """Wait until the deletions of an earlier benchmark in `work` no longer slow file creation."""
    if (work / OUTPUTS).exists():  # an interrupted run's leftovers
        remove_outputs(work)
    stamp = work / REMOVED_STAMP
    if not stamp.exists():
        return
    subprocess.run(["sync"], check=True)
    wait = float(stamp.read_text()) + SETTLE_SECONDS - time.time()
    if wait > 0:
        print(
            f"(waiting {wait:.0f} s for the last run's deleted files to age out of ext4's reuse check)",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(wait)


def bench_feed(
    feed: Feed, work: Path, runs: int, naive_runs: int, workers: Sequence[int]
) -> dict[str, Result]:
    """Medians over `runs`, the programs' order rotated run by run so none always goes first."""
    progs = programs(workers)
    results = {name: Result([]) for name in progs}
    names = list(progs)
    for i in range(max(runs, naive_runs)):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            if i < (naive_runs if name == "naive" else runs):
                run_once(progs[name], feed, work, results[name])
    return {n: r for n, r in results.items() if r.samples}


def report(feed: Feed, results: dict[str, Result]) -> str:
    rows = [
        [
            n,
            len(r.samples),
            f"{r.wall():.2f}",
            f"{r.cpu():.2f}",
            f"{r.rss():.0f}",
            f"{r.documents:,}",
            f"{r.bytes / 1e6:.1f}",
        ]
        for n, r in results.items()
    ]
    lines = [
        f"### build: {feed.name} ({feed.stop_times():,} stop_times)",
        "",
        table(["program", "runs", "wall s", "cpu s", "peak RSS MB", "documents", "MB written"], rows),
        "",
    ]
    ours, floor, naive = next(iter(results.values())), results.get("floor"), results.get("naive")
    boards = next((r for n, r in results.items() if n.startswith("ours+boards")), None)
    if boards:
        lines.append(
            f"ratio ours+boards/ours: wall {boards.wall() / ours.wall():.2f}x, "
            f"cpu {boards.cpu() / ours.cpu():.2f}x, rss {boards.rss() / ours.rss():.2f}x "
            f"(boards from {board_start(feed.db):%Y-%m-%d}, {BOARD_DAYS} days)"
        )
    if floor:
        lines.append(
            f"ratio ours/floor: wall {ours.wall() / floor.wall():.2f}x, cpu {ours.cpu() / floor.cpu():.2f}x, "
            f"rss {ours.rss() / floor.rss():.2f}x"
        )
    name, size = ours.largest_timetable
    if name:
        lines.append(f"largest timetable (ours): timetables/{name}, {size / 1e6:.2f} MB")
    if naive:
        lines.append(
            f"ratio naive/ours: wall {naive.wall() / ours.wall():.1f}x, cpu {naive.cpu() / ours.cpu():.1f}x, "
            f"rss {naive.rss() / ours.rss():.1f}x"
        )
    return "\n".join(lines) + "\n"


def rss_against_size(feeds: Sequence[Feed], measured: dict[str, Result], work: Path, workers: int) -> str:
    """Peak RSS of our build against feed size: it should follow the largest document, not the feed."""
    rows = []
    for feed in feeds:
        result = measured.get(feed.name) or Result([])
        if not result.samples:
            run_once(ours(workers), feed, work, result)
        rows.append(
            [
                feed.name,
                f"{feed.stop_times():,}",
                f"{feed.db.stat().st_size / 1e6:.0f}",
                f"{result.bytes / 1e6:.0f}",
                f"{result.largest / 1e6:.1f}",
                f"{result.rss():.0f}",
            ]
        )
    return "\n".join(
        [
            f"### build: our peak RSS against feed size (workers={workers})",
            "",
            table(["feed", "stop_times", "DB MB", "MB written", "largest doc MB", "peak RSS MB"], rows),
            "",
        ]
    )


def board_sizes(release: Path) -> str:
    """Departure boards against stop views, from a release's manifest: how large a client's download is."""
    documents = json.loads((release / "manifest.json").read_bytes())["documents"]
    rows = []
    for kind, label in (("stop", "stop views (stops/)"), ("departures", "departure boards (departures/)")):
        sizes = [d["bytes"] for d in documents if d["kind"] == kind]
        if sizes:
            rows.append(
                [
                    label,
                    f"{len(sizes):,}",
                    f"{statistics.median(sizes) / 1e3:.1f}",
                    f"{max(sizes) / 1e3:.1f}",
                    f"{sum(sizes) / 1e6:.1f}",
                ]
            )
    return table(["documents", "count", "median KB", "largest KB", "total MB"], rows)
