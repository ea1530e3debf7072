"""Operating releases: --keep, rollback, diff, bundle and verify, through the real CLI."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import orjson
import pytest

from builder.importer.run import import_feed
from tests.conftest import SAMPLE_FEED

CLI = str(Path(sys.executable).parent / "transit-snapshot")


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sample.sqlite"
    import_feed(SAMPLE_FEED, db_url=f"sqlite:///{path}")
    return path


def rename_stop(db: Path, stop_id: str, name: str) -> None:
    """A schedule update: one stop renamed, so its views and every route/trip through it change."""
    con = sqlite3.connect(db)
    con.execute("UPDATE stops SET stop_name = ? WHERE stop_id = ?", (name, stop_id))
    con.commit()
    con.close()


def build(db: Path, out: Path, *args: str) -> str:
    run = cli("build", "--db", f"sqlite:///{db}", "--out", out, *args)
    assert run.returncode == 0, run.stderr
    return current(out)


def current(out: Path) -> str:
    return os.readlink(out / "current").split("/")[-1]


def releases(out: Path) -> set[str]:
    return {p.name for p in (out / "releases").iterdir()}


def test_build_keep_deletes_the_oldest_only_after_publishing(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build(db, out)
    rename_stop(db, "MILL", "Mühle Eins")
    second = build(db, out)
    rename_stop(db, "MILL", "Mühle Zwei")
    third = build(db, out, "--keep", "2")
    assert len({first, second, third}) == 3
    assert releases(out) == {second, third} and current(out) == third
    assert (out / "history").read_text().split() == [second, third]


def test_build_keep_one_keeps_the_current_release(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(db, out)
    rename_stop(db, "MILL", "Mühle Eins")
    latest = build(db, out, "--keep", "1")
    assert releases(out) == {latest}
    assert cli("verify", out / "current").returncode == 0


def test_rollback_points_current_back_at_the_previous_release(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build(db, out)
    before = {p.name: p.read_bytes() for p in (out / "current" / "stops").iterdir()}
    rename_stop(db, "MILL", "Mühle Eins")
    second = build(db, out)
    run = cli("rollback", "--out", out)
    assert run.returncode == 0 and f"{second} -> {first}" in run.stdout
    assert current(out) == first
    assert {p.name: p.read_bytes() for p in (out / "current" / "stops").iterdir()} == before
    again = cli("rollback", "--out", out)
    assert again.returncode == 1 and "nothing to roll back to" in again.stderr
    assert current(out) == first


def test_rollback_with_nothing_published_is_a_clear_error(tmp_path: Path) -> None:
    run = cli("rollback", "--out", tmp_path / "empty")
    assert run.returncode == 1 and run.stderr.startswith("error: nothing is published")


def test_build_after_rollback_of_the_same_database_publishes_again(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(db, out)
    rename_stop(db, "MILL", "Mühle Eins")
    second = build(db, out)
    assert cli("rollback", "--out", out).returncode == 0
    assert build(db, out) == second


def test_diff_lists_changed_documents_per_kind(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = build(db, out)
    rename_stop(db, "MILL", "Mühle Eins")
    new = build(db, out)
    run = cli("diff", out / "releases" / old, out / "releases" / new / "manifest.json", "--json")
    assert run.returncode == 0, run.stderr
    changes = orjson.loads(run.stdout)
    assert changes["changed"]["stop"] == ["MILL"]
    assert changes["counts"]["stop"] == {"added": 0, "removed": 0, "changed": 1}
    assert changes["counts"]["route"]["added"] == 0 and "stops.json" in changes["changed"]["other"]
    text = cli("diff", out / "releases" / old, out / "releases" / new).stdout
    assert "~ stop MILL" in text and "stop   +0 -0 ~1" in text


def test_diff_of_identical_releases_says_so(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(db, out)
    run = cli("diff", out / "current", out / "current")
    assert run.returncode == 0 and "no differences" in run.stdout


def test_build_info_records_changes_against_the_replaced_release(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = build(db, out)
    assert orjson.loads((out / "current" / "build-info.json").read_bytes())["changes"] is None
    con = sqlite3.connect(db)
    con.execute("DELETE FROM routes WHERE route_id = 'X9'")  # X9 has no trips: removing it is clean
    con.commit()
    con.close()
    build(db, out)
    changes = orjson.loads((out / "current" / "build-info.json").read_bytes())["changes"]
    assert changes["against"] == old
    assert changes["removed"]["route"] == ["X9"] and changes["counts"]["route"]["removed"] == 1


@pytest.mark.parametrize("name", ["snapshot.zip", "snapshot.tar.gz", "snapshot.tgz", "snapshot.tar.zst"])
def test_bundle_verifies_as_archive_and_unpacked(name: str, db: Path, tmp_path: Path) -> None:
    out, archive = tmp_path / "out", tmp_path / name
    build_id = build(db, out)
    run = cli("bundle", "--out", out, "--to", archive)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert cli("verify", archive).returncode == 0
    unpacked = tmp_path / "unpacked"
    shutil.unpack_archive(archive, unpacked) if not name.endswith(".zst") else unpack_zst(archive, unpacked)
    assert (unpacked / build_id / "manifest.json").is_file()
    verified = cli("verify", unpacked)
    assert verified.returncode == 0 and build_id in verified.stdout


def unpack_zst(archive: Path, to: Path) -> None:
    import zstandard

    with (
        open(archive, "rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tf,
    ):
        tf.extractall(to, filter="data")


def test_verify_names_every_problem(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(db, out)
    copy = tmp_path / "copy"
    shutil.copytree(out / "current", copy)
    (copy / "routes" / "F1.json").unlink()
    (copy / "stops" / "MILL.json").write_bytes(b"{}")
    (copy / "trips" / "extra.json").write_bytes(b"{}")
    run = cli("verify", copy)
    assert run.returncode == 3
    assert "missing: routes/F1.json" in run.stderr and "extra: trips/extra.json" in run.stderr
    assert "wrong size: stops/MILL.json" in run.stderr and "wrong sha256: stops/MILL.json" in run.stderr
    assert "Traceback" not in run.stderr


def test_verify_finds_a_tampered_archive_member(db: Path, tmp_path: Path) -> None:
    out, good, bad = tmp_path / "out", tmp_path / "good.zip", tmp_path / "bad.zip"
    build(db, out)
    assert cli("bundle", "--out", out, "--to", good).returncode == 0
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(
                info,
                data.replace(b"Strandbad", b"Strandbar") if info.filename.endswith("LIDO.json") else data,
            )
    run = cli("verify", bad)
    assert run.returncode == 3 and "wrong sha256: stops/LIDO.json" in run.stderr


def test_bundle_without_a_published_release_is_a_clear_error(tmp_path: Path) -> None:
    run = cli("bundle", "--out", tmp_path / "none", "--to", tmp_path / "x.zip")
    assert run.returncode == 1 and "nothing is published" in run.stderr
    assert not (tmp_path / "x.zip").exists()
