"""`build --shard I/N --staging DIR` in separate processes, then `build --merge DIR --out OUT`: the release a
one-machine build publishes, byte for byte; and a merge of shards that are not one whole build (one
missing, there twice, half-written, of another database state or shard count) refused in one line,
with nothing published."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from builder.build import BuildResult, BuildSettings, build
from builder.errors import ShardError
from builder.importer.run import import_feed
from builder.release.bundle import verify
from builder.release.shards import PART, RECORD
from builder.shards import build_shard, merge_shards
from tests.conftest import SAMPLE_FEED, SAMPLE_WINDOW
from tests.test_cli import CLI
from tests.test_safety import one_clear_line

WINDOW = [
    "--departures-from",
    SAMPLE_WINDOW[0].strftime("%Y%m%d"),
    "--departures-days",
    str(SAMPLE_WINDOW[1]),
]


def settings(db_url: str, out: Path, **more: object) -> BuildSettings:
    first, days = SAMPLE_WINDOW
    return BuildSettings(
        **{"db_url": db_url, "out_dir": out, "departures_from": first, "departures_days": days, **more}
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, check=False)


def shard_cli(db_url: str, index: int, count: int, staging: Path, *more: str) -> None:
    done = run_cli(
        "build", "--db", db_url, "--shard", f"{index}/{count}", "--staging", str(staging), *WINDOW, *more
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"shard {index}/{count} written: ")


def same_release(local: BuildResult, merged: Path) -> None:
    assert merged.name == local.build_id
    assert (merged / "manifest.json").read_bytes() == (local.release / "manifest.json").read_bytes()
    verify(merged)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    return url


def test_shards_from_postgresql_merge_into_the_local_release_byte_for_byte(
    pg_url: str, tmp_path: Path
) -> None:
    import_feed(SAMPLE_FEED, db_url=pg_url)
    local = build(settings(pg_url, tmp_path / "local", workers=2))
    for index in range(3):  # each its own process, as each pod of an Indexed Job
        shard_cli(pg_url, index, 3, tmp_path / "shards", "--workers", "2")
    merged = run_cli("build", "--merge", str(tmp_path / "shards"), "--out", str(tmp_path / "out"))
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith(f"build {local.build_id} published: ")
    same_release(local, (tmp_path / "out" / "current").resolve())


def test_shards_with_compression_and_the_site_merge_byte_for_byte(sqlite_url: str, tmp_path: Path) -> None:
    local = build(settings(sqlite_url, tmp_path / "local", workers=1, compress=("gzip",), site=True))
    for index in range(2):
        build_shard(settings(sqlite_url, tmp_path / "x", compress=("gzip",)), index, 2, tmp_path / "shards")
    merged = merge_shards(tmp_path / "shards", tmp_path / "out", site=True)
    assert merged.build_id == local.build_id and merged.published
    same_release(local, merged.release)
    # the shards keep their files (hard links): the same merge runs again, unchanged
    again = merge_shards(tmp_path / "shards", tmp_path / "out", site=True)
    assert again.build_id == local.build_id and not again.published


def test_one_shard_of_one_is_the_whole_build(sqlite_url: str, tmp_path: Path) -> None:
    local = build(settings(sqlite_url, tmp_path / "local"))
    build_shard(settings(sqlite_url, tmp_path / "x", workers=3), 0, 1, tmp_path / "shards")
    same_release(local, merge_shards(tmp_path / "shards", tmp_path / "out").release)


def only_record(folder: Path) -> None:
    (folder / RECORD).unlink()


def tampered_part(folder: Path) -> None:
    part = folder / PART
    part.write_bytes(part.read_bytes().replace(b'"bytes":', b'"bytes": ', 1))


def truncated_document(folder: Path) -> None:
    victim = next(p for p in (folder / "stops").iterdir() if p.suffix == ".json")
    victim.write_bytes(victim.read_bytes()[:10])


def shard_folder(staging: Path, index: int) -> Path:
    return next(staging.glob(f"shard-{index}-of-*"))


Damage = Callable[[Path], None]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (only_record, r"shard 1 of 3 is half-written \(shard-1-of-3\.[0-9a-f]+ has no completion record"),
        (
            tampered_part,
            r"shard 1 of 3 is half-written \(manifest-part.json is not the one its record lists\)",
        ),
        (truncated_document, r"shard 1's stops/.*\.json has 10 bytes, its manifest part says \d+"),
    ],
    ids=["no-record", "part-changed", "document-truncated"],
)
def test_merge_refuses_a_half_written_shard(
    sqlite_url: str, tmp_path: Path, damage: Damage, message: str
) -> None:
    staging = tmp_path / "shards"
    for index in range(3):
        build_shard(settings(sqlite_url, tmp_path / "x"), index, 3, staging)
    damage(shard_folder(staging, 1))
    assert_refused(staging, tmp_path / "out", message)


def test_merge_refuses_a_missing_shard(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    for index in (0, 2):
        build_shard(settings(sqlite_url, tmp_path / "x"), index, 3, staging)
    assert_refused(staging, tmp_path / "out", "shard 1 of 3 is missing")


def test_merge_refuses_a_shard_there_twice(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    for index in (0, 1, 1):
        build_shard(settings(sqlite_url, tmp_path / "x"), index, 2, staging)
    assert_refused(staging, tmp_path / "out", r"shard 1 of 2 is there 2 times \(shard-1-of-2\.")


def test_merge_ignores_a_dead_run_of_a_shard_that_a_retry_completed(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    for index in (0, 1, 1):
        build_shard(settings(sqlite_url, tmp_path / "x"), index, 2, staging)
    only_record(shard_folder(staging, 1))  # the first run of shard 1 died; its retry finished
    local = build(settings(sqlite_url, tmp_path / "local"))
    same_release(local, merge_shards(staging, tmp_path / "out").release)


def test_merge_refuses_shards_of_different_database_states(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    build_shard(settings(sqlite_url, tmp_path / "x"), 0, 2, staging)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:  # an import between two pods
        conn.execute("UPDATE stops SET stop_name = stop_name || ' (moved)' WHERE rowid = 1")
    build_shard(settings(sqlite_url, tmp_path / "x"), 1, 2, staging)
    assert_refused(staging, tmp_path / "out", "made from different database states, shard counts or settings")


def test_merge_refuses_shards_of_different_counts_or_settings(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    build_shard(settings(sqlite_url, tmp_path / "x"), 0, 2, staging)
    build_shard(settings(sqlite_url, tmp_path / "x", compress=("gzip",)), 1, 2, staging)
    assert_refused(staging, tmp_path / "out", "different database states, shard counts or settings")
    build_shard(settings(sqlite_url, tmp_path / "x"), 2, 3, staging)
    assert_refused(staging, tmp_path / "out", "different database states, shard counts or settings")


def test_merge_refuses_a_folder_without_shards_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run_cli("build", "--merge", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert done.returncode == 8
    assert "holds no shard" in one_clear_line(done.stderr)


def test_merge_refusal_from_the_command_line_is_one_line_exit_8(sqlite_url: str, tmp_path: Path) -> None:
    staging = tmp_path / "shards"
    shard_cli(sqlite_url, 1, 2, staging)
    done = run_cli("build", "--merge", str(staging), "--out", str(tmp_path / "out"))
    assert done.returncode == 8, done.stderr
    assert "shard 0 of 2 is missing" in one_clear_line(done.stderr)
    assert not (tmp_path / "out" / "current").exists()


def assert_refused(staging: Path, out: Path, message: str) -> None:
    with pytest.raises(ShardError, match=message) as refused:
        merge_shards(staging, out)
    assert "\n" not in str(refused.value) and "nothing was published" in str(refused.value)
    assert refused.value.exit_code == 8
    assert not (out / "current").exists()
    releases = out / "releases"
    assert not releases.exists() or not any(releases.iterdir())
