"""The feeds and databases the benchmarks share: each feed unzipped once, loaded once by load_gtfs.py."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TRANSIT_SNAPSHOT_SHARED") or REPO.parent / "shared")  # as in tests/conftest.py
BASELINES = SHARED / "baselines"
FEEDS = SHARED / "feeds"
SAMPLE_FEED = REPO / "sample" / "feed"
SMOKE_FEED = "caltrain"


@dataclass(frozen=True)
class Feed:
    name: str
    folder: Path  # the unzipped feed
    db: Path  # made by load_gtfs.py: the one database every builder reads

    def stop_times(self) -> int:
        with sqlite3.connect(self.db) as con:
            return int(con.execute("SELECT count(*) FROM stop_times").fetchone()[0])


def prepare(name: str, work: Path) -> Feed:
    """Unzip `name` from ../shared/feeds (or use sample/feed for `sample`) and load it, once per work dir."""
    folder = SAMPLE_FEED if name == "sample" else work / "feeds" / name
    if name != "sample" and not (folder / "stop_times.txt").exists():
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(FEEDS / f"{name}.zip") as zf:
            zf.extractall(folder)
    db = work / f"{name}.load.sqlite"
    if not db.exists():
        tmp = db.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        subprocess.run([sys.executable, str(BASELINES / "load_gtfs.py"), str(folder), str(tmp)], check=True)
        tmp.rename(db)
    return Feed(name, folder, db)


def require_shared() -> None:
    if not BASELINES.is_dir() or not FEEDS.is_dir():
        raise SystemExit(f"the baselines and feeds are not beside the repo ({SHARED} is absent)")
