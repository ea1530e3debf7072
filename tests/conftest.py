"""Shared fixtures: the project's sample feed, the real feeds in ../shared/feeds, and built snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from builder.build import BuildResult, BuildSettings, build
from builder.importer import import_feed

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FEED = REPO / "sample" / "feed"
FEEDS = REPO.parent / "shared" / "feeds"
ORACLE = REPO.parent / "shared" / "baselines" / "oracle.py"

needs_feeds = pytest.mark.skipif(
    not FEEDS.is_dir(), reason=f"the real feeds are not beside the repo ({FEEDS} is absent)")


def shared_feeds() -> list[Path]:
    return sorted(FEEDS.glob("*.zip")) if FEEDS.is_dir() else []


Builder = Callable[..., BuildResult]


@pytest.fixture
def build_feed(tmp_path: Path) -> Builder:
    """Import a feed into a fresh SQLite database and build it; returns the build result."""

    def run(feed: Path, *, out: Path | None = None, workers: int = 1,
            compress: tuple[str, ...] = ()) -> BuildResult:
        db = tmp_path / f"{feed.stem}.sqlite"
        url = f"sqlite:///{db}"
        if not db.exists():
            import_feed(feed, db_url=url)
        return build(BuildSettings(db_url=url, out_dir=out or tmp_path / "out", workers=workers,
                                   compress=compress))

    return run
