"""region: New York's feeds (issue 14) in one snapshot, against one single-feed build per feed, same run.

Every feed is imported and built alone (its own database, today's single-feed layout), then each tier (a
set of feeds, e.g. LIRR+subway, Brooklyn, all nine) is imported feed by feed with `import --feed ID` into
one database and built into one multi-feed snapshot. Measured: wall time, peak RSS (imports: the largest
of the tier's imports) and bytes written; then oracle.py checks a sample of every feed below its folder,
and the chosen feeds' folders are compared document by document with their single-feed builds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tests.benchmarks import nyfeeds
from tests.benchmarks.build_bench import NO_BOARDS, OURS, OUTPUTS, build_command, remove_outputs, settle
from tests.benchmarks.feeds import BASELINES, FEEDS
from tests.benchmarks.measure import Sample, folder_size, run, table

# Single-feed builds of these are made from the shared zip the converter must reproduce (tests/test_nyfeeds.py
# proves the rows are the same), so the comparison below is with the feed the other benchmarks use.
SHARED_EQUIVALENT = {"bus_bk": "mta_bus_brooklyn"}
RSS_TARGET_MB = 300
WALL_TARGET = 1.1  # all feeds in one snapshot against the sum of the single-feed builds
SPARE_BYTES = 4 << 30


@dataclass(frozen=True)
class Settings:
    feeds: tuple[str, ...]
    tiers: tuple[tuple[str, ...], ...]  # the last is the one the targets are measured on
    same: tuple[str, ...]  # feeds whose folder is compared with their single-feed build
    sample: int  # oracle.py --sample
    workers: int
    smoke: bool  # no sync before each measured program, no waiting for the disk to settle


@dataclass(frozen=True)
class Source:
    """One feed of the region: its feed id and its GTFS zip."""

    id: str
    zip: Path

    def single_zip(self) -> Path:
        shared = SHARED_EQUIVALENT.get(self.id)
        return FEEDS / f"{shared}.zip" if shared and (FEEDS / f"{shared}.zip").exists() else self.zip


def sources(names: Sequence[str]) -> dict[str, Source]:
    """The package's folders converted (scripts/ny-feeds' cache), other names from ../shared/feeds."""
    ny = [n for n in names if n in nyfeeds.FOLDERS]
    zips = nyfeeds.converted(ny) if ny else {}
    out = {}
    for name in names:
        path = zips.get(name) or FEEDS / f"{name}.zip"
        if not path.exists():
            raise SystemExit(f"{name}: neither a folder of {nyfeeds.PACKAGE} nor a feed in {FEEDS}")
        out[name] = Source(name, path)
    return out


@dataclass
class Built:
    """What one database's imports and its build measured."""

    feeds: int = 1
    stop_times: int = 0
    imports: list[Sample] = field(default_factory=list)
    build: Sample | None = None
    documents: int = 0
    bytes: int = 0

    def import_wall(self) -> float:
        return sum(s.wall for s in self.imports)

    def import_rss(self) -> float:
        return max((s.rss_mb for s in self.imports), default=0.0)

    def row(self, label: str) -> list[object]:
        assert self.build is not None
        return [
            label,
            self.feeds,
            f"{self.stop_times:,}",
            f"{self.import_wall():.1f}",
            f"{self.import_rss():.0f}",
            f"{self.build.wall:.1f}",
            f"{self.build.cpu:.1f}",
            f"{self.build.rss_mb:.0f}",
            f"{self.documents:,}",
            f"{self.bytes / 1e6:,.0f}",
        ]


HEADERS = [
    "snapshot",
    "feeds",
    "stop_times",
    "import s",
    "import peak RSS MB",
    "build s",
    "build cpu s",
    "build peak RSS MB",
    "documents",
    "MB written",
]


def import_cmd(zip_path: Path, db: Path, feed_id: str | None) -> list[str]:
    return [
        OURS,
        "import",
        str(zip_path),
        "--db",
        f"sqlite:///{db}",
        *(["--feed", feed_id] if feed_id else []),
    ]


def build_cmd(db: Path, out: Path, workers: int) -> list[str]:
    # No departure boards: their window depends on the date, and the other build benchmarks leave them out.
    return build_command(db, out, workers, *NO_BOARDS)


def stop_times(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM stop_times").fetchone()[0])


def remove_database(db: Path) -> None:
    """The SQLite file, its journal files, and the per-feed files `import --feed` keeps beside it."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".feeds"), ignore_errors=True)


def measure(imports: Sequence[list[str]], db: Path, out: Path, settings: Settings) -> Built:
    """Import into a fresh `db` (each command its own process), then build it into `out`. Before each,
    `sync`: the previous program's dirty pages are not this one's cost (skipped by --smoke: on a disk
    other programs keep busy, a sync can take longer than the smoke run's programs)."""
    remove_database(db)
    shutil.rmtree(out, ignore_errors=True)
    built = Built()
    for cmd in imports:
        built.imports.append(run(cmd, sync=not settings.smoke))
    built.build = run(build_cmd(db, out, settings.workers), sync=not settings.smoke)
    built.documents, built.bytes, _ = folder_size(out / "current")
    return built


def check_disk(work: Path, need: int) -> None:
    free = shutil.disk_usage(work).free
    if free < SPARE_BYTES + need:
        raise SystemExit(f"{free >> 30} GiB free under {work}, {(SPARE_BYTES + need) >> 30} GiB needed")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def bench(settings: Settings, work: Path) -> str:
    """Phase 1: every feed alone, then the last tier (all of them) in one snapshot, then the checks on it.
    Phase 2, on a settled disk once phase 1's outputs are deleted (the disk cannot hold every output at
    once): the smaller tiers, for the growth table."""
    base = work / OUTPUTS / "region"
    base.mkdir(parents=True, exist_ok=True)
    feeds = sources(settings.feeds)
    loads = [f"load average (1, 5, 15 min) at the start: {load()}"]
    single = {
        name: measure_single(source, base / f"single-{name}", settings) for name, source in feeds.items()
    }
    last = measure_tier(settings.tiers[-1], feeds, single, base / "region", settings)
    loads.append(f"after the single-feed builds and the one of {len(feeds)} feeds: {load()}")
    checks, failures = check(feeds, settings, base)
    tiers = {tier_label(settings.tiers[-1], feeds): last}
    if len(settings.tiers) > 1:
        remove_outputs(work)
        if not settings.smoke:
            settle(work)
        base.mkdir(parents=True)
        for i, tier in enumerate(settings.tiers[:-1]):
            tiers[tier_label(tier, feeds)] = measure_tier(tier, feeds, single, base / f"tier-{i}", settings)
        loads.append(f"after the smaller tiers: {load()}")
    ordered = dict(sorted(tiers.items(), key=lambda item: item[1].stop_times))
    text = "\n".join([*report(single, ordered, settings), ", ".join(loads), "", *checks]) + "\n"
    if failures:
        print(text, flush=True)
        raise SystemExit("region: " + "; ".join(failures[:10]))
    return text


def tier_label(tier: Sequence[str], feeds: dict[str, Source]) -> str:
    return "+".join(tier) if len(tier) < len(feeds) else f"all {len(tier)}"


def measure_single(source: Source, out: Path, settings: Settings) -> Built:
    db = out.with_suffix(".sqlite")
    check_disk(out.parent, 3 << 30)
    built = measure([import_cmd(source.single_zip(), db, None)], db, out, settings)
    built.stop_times = stop_times(db)
    remove_database(db)
    return built


def measure_tier(
    tier: Sequence[str], feeds: dict[str, Source], single: dict[str, Built], out: Path, settings: Settings
) -> Built:
    db = out.with_suffix(".sqlite")
    check_disk(out.parent, sum(single[n].bytes for n in tier) + (3 << 30))
    built = measure([import_cmd(feeds[n].zip, db, n) for n in tier], db, out, settings)
    built.feeds, built.stop_times = len(tier), sum(single[n].stop_times for n in tier)  # the same rows
    remove_database(db)
    return built


def check(feeds: dict[str, Source], settings: Settings, base: Path) -> tuple[list[str], list[str]]:
    """oracle.py on a sample of each feed's folder of the snapshot of all feeds, and the --same-feeds'
    folders against their single-feed builds: (lines to print, failures)."""
    release = base / "region" / "current"
    rows, failures = oracles(feeds, settings.tiers[-1], release, settings.sample)
    lines = [
        f"#### oracle.py --sample {settings.sample} on each feed's folder of the snapshot of all feeds",
        "",
    ]
    lines += [table(["feed", "documents checked", "mismatches"], rows), ""]
    for name in settings.same:
        # In a process of its own: the parsed manifests (300k entries for New York) would stay in this
        # one's heap, and every program it starts afterwards inherits that high-water mark as its
        # ru_maxrss, which measure.run reports when it is above the sampled peak.
        done = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.region_bench", str(base / f"single-{name}" / "current")]
            + [str(release), name],
            capture_output=True,
            check=True,
        )
        verdict, differences = orjson.loads(done.stdout)
        lines.append(verdict)
        failures += differences
    return lines, failures


def report(single: dict[str, Built], tiers: dict[str, Built], settings: Settings) -> list[str]:
    rows = [b.row(name) for name, b in single.items()]
    total = Built(
        stop_times=sum(b.stop_times for b in single.values()),
        imports=[s for b in single.values() for s in b.imports],
        build=Sample(
            sum(b.build.wall for b in single.values() if b.build),
            sum(b.build.cpu for b in single.values() if b.build),
            max(b.build.rss_mb for b in single.values() if b.build),
        ),
        documents=sum(b.documents for b in single.values()),
        bytes=sum(b.bytes for b in single.values()),
    )
    total.feeds = len(single)
    rows.append(total.row("sum (RSS: max)"))
    name, region = list(tiers.items())[-1]
    assert region.build is not None and total.build is not None
    wall = region.build.wall / total.build.wall
    rss = max(region.build.rss_mb, region.import_rss())
    ratio = (
        f"ratio {name} in one snapshot/sum of single-feed builds: build wall {wall:.2f}x "
        f"(target {WALL_TARGET}x: {verdict(wall <= WALL_TARGET)}), build cpu "
        f"{region.build.cpu / total.build.cpu:.2f}x, import wall "
        f"{region.import_wall() / total.import_wall():.2f}x, MB written {region.bytes / total.bytes:.2f}x"
    )
    peak = (
        f"peak RSS of {name} in one snapshot: imports {region.import_rss():.0f} MB, build "
        f"{region.build.rss_mb:.0f} MB (target {RSS_TARGET_MB} MB: {verdict(rss <= RSS_TARGET_MB)})"
    )
    return [
        f"### region: single-feed builds, one database each (workers={settings.workers}, no boards)",
        "",
        table(HEADERS, rows),
        "",
        "### region: feeds in one multi-feed snapshot (`import --feed`, one database, one build)",
        "",
        table(HEADERS, [b.row(label) for label, b in tiers.items()]),
        "",
        ratio,
        peak,
        "",
    ]


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def feed_folders(release: Path) -> dict[str, str]:
    """Feed id -> its folder below the root (`feeds/<feed-key>/`), from the root feeds.json."""
    doc = orjson.loads((release / "feeds.json").read_bytes())
    entries = doc["feeds"] if isinstance(doc, dict) else doc
    return {e["feed_id"]: e["href"].rsplit("/", 1)[0] + "/" for e in entries}


def oracles(
    feeds: dict[str, Source], tier: Sequence[str], release: Path, sample: int
) -> tuple[list[list[object]], list[str]]:
    folders = feed_folders(release)
    rows: list[list[object]] = []
    failures = []
    for name in tier:
        done = subprocess.run(
            [sys.executable, str(BASELINES / "oracle.py"), str(feeds[name].zip), str(release)]
            + ["--sample", str(sample), "--under", folders[name]],
            capture_output=True,
            text=True,
            check=False,
        )
        last = (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]
        # "oracle ok: N documents checked, M mismatches"
        figures = last.split(": ", 1)[-1].split(", ")
        checked, mismatches = (f.split(" ")[0] for f in figures) if len(figures) == 2 else ("?", last)
        rows.append([name, checked, mismatches])
        if done.returncode != 0:
            failures.append(f"oracle.py on {name}: {last}")
    return rows, failures


def same_below_folder(single: Path, multi: Path, feed_id: str) -> tuple[str, list[str]]:
    """Every document of the single-feed build is the multi-feed snapshot's document at the same path below
    the feed's folder, byte for byte once the folder is taken out of the paths inside it (hrefs)."""
    folder = feed_folders(multi)[feed_id]
    prefix = f'"{folder}'.encode()
    theirs = orjson.loads((single / "manifest.json").read_bytes())["documents"]
    ours = {d["path"] for d in orjson.loads((multi / "manifest.json").read_bytes())["documents"]}
    differences = []
    for entry in theirs:
        path = entry["path"]
        if folder + path not in ours:
            differences.append(f"{folder}{path}: missing")
        elif (multi / folder / path).read_bytes().replace(prefix, b'"') != (single / path).read_bytes():
            differences.append(f"{folder}{path}: differs")
    extra = len(ours) - len([p for p in ours if not p.startswith(folder)]) - len(theirs)
    verdict = (
        f"{folder} against the single-feed build of {feed_id}: {len(theirs):,} documents, "
        + (
            "all equal but for the folder in paths and hrefs"
            if not differences
            else f"{len(differences)} differ"
        )
        + (f", {extra} more in the folder" if extra else "")
    )
    if extra:
        differences.append(f"{folder}: {extra} documents the single-feed build does not have")
    return verdict, [f"{feed_id}: {d}" for d in differences[:5]]


if __name__ == "__main__":  # SINGLE_RELEASE MULTI_RELEASE FEED_ID: same_below_folder's verdict as JSON
    sys.stdout.buffer.write(
        orjson.dumps(same_below_folder(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
    )
