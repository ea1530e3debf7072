"""Shards of a database of several feeds (`import --feed`): the plan cuts each pass across every feed's ids
(builder.snapshot.tasks.split_across), each shard writes its ranges feed by feed under their folders, and
the merge writes the root of several feeds and the site from the shards' documents: the release a
one-machine build publishes, byte for byte, on SQLite and PostgreSQL. Shards of another state of one
feed, of another set of feeds, or whose records list other feeds are refused."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import orjson
import pytest

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from builder.release.shards import RECORD
from builder.shards import build_shard, merge_shards
from builder.snapshot.source import EVERYTHING, KeyRange
from builder.snapshot.tasks import Weights, split_across, split_evenly
from tests.conftest import FEEDS, needs_feeds
from tests.test_shards import assert_refused, run_cli, same_release

CALTRAIN, GOOGLE = FEEDS / "caltrain.zip", FEEDS / "google_sample.zip"
FIRST, DAYS = "20160528", 2  # caltrain's window (google_sample's boards are then empty, but written)
WINDOW = ["--departures-from", FIRST, "--departures-days", str(DAYS)]


def settings(url: str, **more: object) -> BuildSettings:
    first = datetime.strptime(FIRST, "%Y%m%d").date()
    return BuildSettings(**{"db_url": url, "departures_from": first, "departures_days": DAYS, **more})


def three_feeds(url: str) -> None:
    """caltrain, and google_sample twice: g1 and g-2 share every route, stop and trip id."""
    for feed, feed_id in ((CALTRAIN, "caltrain"), (GOOGLE, "g1"), (GOOGLE, "g-2")):
        import_feed(feed, db_url=url, feed_id=feed_id)


def shard_paths(staging: Path) -> dict[int, set[str]]:
    """Each shard's documents, by shard index."""
    found: dict[int, set[str]] = {}
    for folder in staging.glob("shard-*"):
        index = int(folder.name.split("-")[1])
        part = orjson.loads((folder / "manifest-part.json").read_bytes())
        found[index] = {d["path"] for d in part["documents"]}
    return found


def feeds_in(paths: set[str]) -> set[str]:
    return {p.split("/")[1] for p in paths if p.startswith("feeds/")}


# --- the cut across feeds ---------------------------------------------------------------------------------


def ids_in(part: list[tuple[int, KeyRange]], feeds: list[Weights]) -> list[tuple[int, str]]:
    return [(index, id_) for index, span in part for id_, _ in feeds[index] if id_ in span]


def test_split_across_one_feed_cuts_as_split_evenly() -> None:
    weights = [(f"{i:03d}", 1 + i % 7) for i in range(200)]
    for parts in (1, 2, 3, 8):
        cut = split_across([(EVERYTHING, weights)], parts)
        assert [span for part in cut for _, span in part] == split_evenly(weights, parts)


@pytest.mark.parametrize("seed", range(20))
def test_split_across_puts_every_id_of_every_feed_in_one_part_evenly(seed: int) -> None:
    rng = random.Random(seed)
    feeds = [
        [
            (f"{i:05d}", rng.randrange(1, 50))
            for i in sorted(rng.sample(range(10_000), rng.choice((0, 3, 80))))
        ]
        for _ in range(rng.randrange(1, 6))
    ]
    parts = rng.randrange(1, 7)
    cut = split_across([(EVERYTHING, f) for f in feeds], parts)
    assert 1 <= len(cut) <= parts
    placed = [key for part in cut for key in ids_in(part, feeds)]
    assert sorted(placed) == sorted((index, id_) for index, f in enumerate(feeds) for id_, _ in f)
    assert {index for part in cut for index, _ in part} == set(range(len(feeds)))  # empty feeds too
    total, heaviest = sum(w for f in feeds for _, w in f), max((w for f in feeds for _, w in f), default=0)
    weight = {(index, id_): w for index, f in enumerate(feeds) for id_, w in f}
    for part in cut:  # no part much heavier than its share
        assert sum(weight[key] for key in ids_in(part, feeds)) <= total / parts + heaviest


def test_split_across_shares_parts_between_feeds_and_spreads_a_large_one() -> None:
    small, large = [("a", 1), ("b", 1)], [(f"{i:02d}", 1) for i in range(40)]
    cut = split_across([(EVERYTHING, small), (EVERYTHING, large), (EVERYTHING, small)], 4)
    assert [index for index, _ in cut[0]] == [0, 1]  # the small feed and the start of the large one
    assert sum(1 for part in cut for index, _ in part if index == 1) == 4
    assert cut[-1][-1] == (2, EVERYTHING)


def test_split_across_keeps_a_range_inside_its_outer_ends() -> None:
    outer = KeyRange("10", "30")
    inside = [(f"{i:02d}", 1) for i in range(10, 30)]
    cut = split_across([(outer, inside)], 3)
    spans = [span for part in cut for _, span in part]
    assert spans[0].low == "10" and spans[-1].high == "30" and len(spans) == 3
    assert all(a.high == b.low for a, b in pairwise(spans))


# --- shards of several feeds -----------------------------------------------------------------------------


@needs_feeds
def test_shards_of_several_feeds_with_the_site_merge_byte_for_byte(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    three_feeds(url)
    local = build(settings(url, out_dir=tmp_path / "local", workers=2, site=True, compress=("gzip",)))
    staging = tmp_path / "shards"
    for index in range(3):
        build_shard(settings(url, workers=2, compress=("gzip",)), index, 3, staging)
    merged = merge_shards(staging, tmp_path / "out", site=True)
    assert merged.build_id == local.build_id and merged.published
    same_release(local, merged.release)
    assert merged.documents == local.documents
    assert sorted(p.name for p in merged.release.iterdir()) == sorted(p.name for p in local.release.iterdir())
    shards = shard_paths(staging)
    # balanced by weight, not one feed per shard: caltrain's documents in every shard, and some shard
    # writes documents of more than one feed
    assert all("caltrain" in feeds_in(paths) for paths in shards.values())
    assert any(len(feeds_in(paths)) > 1 for paths in shards.values())
    assert "feeds.json" not in set().union(*shards.values())  # the root is the merge's


@needs_feeds
def test_shards_of_several_feeds_from_postgresql_merge_byte_for_byte(pg_url: str, tmp_path: Path) -> None:
    three_feeds(pg_url)
    local = build(settings(pg_url, out_dir=tmp_path / "local", workers=2))
    for index in range(4):  # each its own process, as each pod of an Indexed Job
        done = run_cli(
            "build", "--db", pg_url, "--shard", f"{index}/4", "--staging", str(tmp_path / "shards"), *WINDOW
        )
        assert done.returncode == 0, done.stderr
    merged = run_cli("build", "--merge", str(tmp_path / "shards"), "--out", str(tmp_path / "out"))
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith(f"build {local.build_id} published: ")
    same_release(local, (tmp_path / "out" / "current").resolve())


@needs_feeds
def test_merge_refuses_shards_of_another_state_of_one_feed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    three_feeds(url)
    staging = tmp_path / "shards"
    build_shard(settings(url), 0, 2, staging)
    with sqlite3.connect(tmp_path / "region.sqlite.feeds" / "g-2.sqlite") as db:  # written in place
        db.execute("UPDATE stops SET stop_name = stop_name || ' (moved)' WHERE rowid = 1")
    build_shard(settings(url), 1, 2, staging)
    assert_refused(staging, tmp_path / "out", "made from different database states")


@needs_feeds
def test_merge_refuses_shards_of_other_feeds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    three_feeds(url)
    staging = tmp_path / "shards"
    build_shard(settings(url), 0, 3, staging)
    import_feed(GOOGLE, db_url=url, feed_id="g3")  # a feed added between two pods
    build_shard(settings(url), 1, 3, staging)
    assert_refused(staging, tmp_path / "out", "made from different database states")
    import_feed(CALTRAIN, db_url=url, feed_id="g3")  # a feed re-imported
    build_shard(settings(url), 2, 3, staging)
    assert_refused(staging, tmp_path / "out", "made from different database states")


@needs_feeds
def test_merge_refuses_shards_of_several_feeds_missing_half_written_or_listing_other_feeds(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    three_feeds(url)
    staging = tmp_path / "shards"
    for index in range(2):
        build_shard(settings(url), index, 3, staging)
    assert_refused(staging, tmp_path / "out", "shard 2 of 3 is missing")
    build_shard(settings(url), 2, 3, staging)
    holder = next(f for f in staging.glob("shard-*") if (f / "feeds" / "g1" / "stops").is_dir())
    victim = next((holder / "feeds" / "g1" / "stops").glob("*.json"))
    original = victim.read_bytes()
    victim.write_bytes(original[:10])
    assert_refused(staging, tmp_path / "out", r"shard \d's feeds/g1/stops/.*\.json has 10 bytes")
    victim.write_bytes(original)
    record = orjson.loads((holder / RECORD).read_bytes())
    record["feeds"][0][1] = "elsewhere"
    (holder / RECORD).write_bytes(orjson.dumps(record))
    assert_refused(staging, tmp_path / "out", "list different or damaged feeds")
