"""import: our `transit-snapshot import` (validating) beside load_gtfs.py (no validation), same feed folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.benchmarks.feeds import BASELINES, Feed
from tests.benchmarks.measure import Sample, median, run, table

OURS = str(Path(sys.executable).with_name("transit-snapshot"))
PG_ENV = "TRANSIT_BENCH_PG_URL"  # e.g. postgresql://postgres@127.0.0.1/bench: adds our import into PostgreSQL


def commands(feed: Feed, work: Path) -> dict[str, list[str]]:
    ours_db, load_db = work / f"{feed.name}.import-ours.sqlite", work / f"{feed.name}.import-load.sqlite"
    out = {
        "ours (sqlite)": [OURS, "import", str(feed.folder), "--db", f"sqlite:///{ours_db}"],
        "load_gtfs.py": [
            "sh",
            "-c",
            (
                f'rm -f "{load_db}" && exec "{sys.executable}" '
                f'"{BASELINES / "load_gtfs.py"}" "{feed.folder}" "{load_db}"'
            ),
        ],
    }
    if os.environ.get(PG_ENV):
        out["ours (postgresql)"] = [OURS, "import", str(feed.folder), "--db", os.environ[PG_ENV]]
    return out


def bench(feed: Feed, work: Path, runs: int) -> str:
    cmds = commands(feed, work)
    names = list(cmds)
    samples: dict[str, list[Sample]] = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(run(cmds[name], sync=True))
    rows = [
        [
            n,
            len(s),
            f"{median([x.wall for x in s]):.2f}",
            f"{median([x.cpu for x in s]):.2f}",
            f"{median([x.rss_mb for x in s]):.0f}",
        ]
        for n, s in samples.items()
    ]
    ours, base = (median([x.wall for x in samples[n]]) for n in ("ours (sqlite)", "load_gtfs.py"))
    for path in work.glob(f"{feed.name}.import-*.sqlite"):
        path.unlink()
    lines = [
        f"### import: {feed.name} ({feed.stop_times():,} stop_times)",
        "",
        table(["program", "runs", "wall s", "cpu s", "peak RSS MB"], rows),
        "",
        f"ratio ours/load_gtfs: wall {ours / base:.2f}x",
    ]
    if "ours (postgresql)" in samples:
        pg = median([x.wall for x in samples["ours (postgresql)"]])
        lines.append(
            f"ratio ours (postgresql)/load_gtfs: wall {pg / base:.2f}x "
            "(cpu s and RSS are the importer's; the server's own work is not counted)"
        )
    return "\n".join([*lines, ""])
