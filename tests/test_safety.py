"""Whatever happens to a build — kill -9, a second build, a full disk, a broken or vanished database —
`current` keeps showing the previous release byte for byte, and the next build just works.

Every test runs the real `transit-snapshot build` in a real process against a real output folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from builder.importer.run import import_feed
from builder.release.bundle import verify
from tests.conftest import SAMPLE_FEED
from tests.synthetic import write_feed

CLI = str(Path(sys.executable).parent / "transit-snapshot")


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database whose build takes a couple of seconds and tens of MB: room to strike mid-way."""
    folder = tmp_path_factory.mktemp("big")
    db = folder / "big.sqlite"
    import_feed(
        write_feed(folder / "feed", routes=150, trips_per_route=30, stops=1500), db_url=f"sqlite:///{db}"
    )
    return db


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sample") / "sample.sqlite"
    import_feed(SAMPLE_FEED, db_url=f"sqlite:///{db}")
    return db


def run_build(db: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "build", "--db", f"sqlite:///{db}", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start_build(db: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "build", "--db", f"sqlite:///{db}", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def published(out: Path, sample_db: Path) -> dict[str, str]:
    """Publish the sample feed's release into `out`; returns the sha256 of every file it holds."""
    assert run_build(sample_db, out).returncode == 0
    return hashes(out / "current")


def hashes(release: Path) -> dict[str, str]:
    return {
        p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(release.rglob("*"))
        if p.is_file()
    }


def staging(out: Path) -> list[Path]:
    return [p for p in (out / "releases").iterdir() if p.name.startswith(".tmp-")]


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, f"the build ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def writing_documents(out: Path) -> bool:
    return any(any((p / "trips").iterdir()) for p in staging(out) if (p / "trips").is_dir())


def manifest_written(out: Path) -> bool:
    return any((p / "manifest.json").exists() for p in staging(out))


def assert_intact(out: Path, before: dict[str, str], build_id: str) -> None:
    assert os.readlink(out / "current") == f"releases/{build_id}"
    assert hashes(out / "current") == before
    assert verify(out / "current") == build_id


def one_clear_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.parametrize("moment", ["at-start", "writing-documents"])
def test_build_killed_leaves_current_intact_and_next_build_cleans_up(
    moment: str, big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = published(out, sample_db)
    previous = os.readlink(out / "current").split("/")[-1]
    proc = start_build(big_db, out)
    if moment == "at-start":
        time.sleep(0.05)
    else:
        wait_for(lambda: writing_documents(out), proc, "documents were written")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert_intact(out, before, previous)
    assert staging(out) or moment == "at-start"  # the partial folder is left for the next run
    after = run_build(big_db, out)
    assert after.returncode == 0, after.stderr
    assert not staging(out)
    assert os.readlink(out / "current") != f"releases/{previous}"
    verify(out / "current")


def test_build_killed_late_leaves_a_complete_current(big_db: Path, sample_db: Path, tmp_path: Path) -> None:
    """Killed between the manifest and the publish: current is the old release or the new one, never half."""
    out = tmp_path / "out"
    published(out, sample_db)
    proc = start_build(big_db, out)
    wait_for(lambda: manifest_written(out), proc, "the manifest was written")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    verify(out / "current")
    assert run_build(big_db, out).returncode == 0
    assert not staging(out)


def test_build_second_concurrent_build_exits_75_at_once(
    big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = published(out, sample_db)
    first = start_build(big_db, out)
    try:
        wait_for(lambda: bool(staging(out)), first, "the first build held the lock")
        started = time.monotonic()
        second = run_build(sample_db, out)
        elapsed = time.monotonic() - started
        assert second.returncode == 75, second.stderr
        assert elapsed < 5
        assert ".lock" in one_clear_line(second.stderr) and "another build" in second.stderr
        assert hashes(out / "current") == before  # the second build touched nothing
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill a disk for real: {run.stderr.strip()}")


def test_build_on_a_full_disk_fails_in_one_line_and_keeps_current(
    big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "disk"
    mount_tmpfs(out, "2m")
    try:
        before = published(out, sample_db)
        previous = os.readlink(out / "current").split("/")[-1]
        run = run_build(big_db, out)
        assert run.returncode == 1
        assert "disk full" in one_clear_line(run.stderr)
        assert_intact(out, before, previous)
        assert not staging(out)  # the failed run removed its own partial folder
        assert run_build(sample_db, out).returncode == 0  # and with room again, the next run works
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_build_of_an_unreadable_database_fails_in_one_line(
    damage: str, big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = published(out, sample_db)
    previous = os.readlink(out / "current").split("/")[-1]
    db = tmp_path / "broken.sqlite"
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    else:  # the header and schema survive, the pages holding the rows are gone
        db.write_bytes(big_db.read_bytes()[: big_db.stat().st_size // 3])
    run = run_build(db, out)
    assert run.returncode in (3, 4), run.stderr
    assert str(db) in one_clear_line(run.stderr) or "database" in run.stderr
    assert_intact(out, before, previous)
    assert not staging(out)


def test_build_whose_database_vanishes_midway_publishes_the_state_it_started_from(
    big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    """The build pinned the file when it started (builder.snapshot.pinning): its tasks still read that one."""
    out = tmp_path / "out"
    published(out, sample_db)
    db = tmp_path / "doomed.sqlite"
    shutil.copy(big_db, db)
    proc = start_build(db, out)
    wait_for(lambda: writing_documents(out), proc, "documents were written")
    db.unlink()
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert not staging(out)
    assert os.readlink(out / "current") == f"releases/{verify(out / 'current')}"
    assert run_build(big_db, out).stdout.split()[2] == "unchanged"  # the same release as the whole file's


def helpers_of(build: subprocess.Popen[str]) -> list[int]:
    """The build's forked helper processes (its children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    if int(fh.read().rsplit(b")", 1)[1].split()[1]) == build.pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_build_whose_helper_is_killed_fails_in_one_line_and_keeps_current(
    big_db: Path, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = published(out, sample_db)
    previous = os.readlink(out / "current").split("/")[-1]
    proc = start_build(big_db, out)
    wait_for(lambda: writing_documents(out) and bool(helpers_of(proc)), proc, "the helper was writing")
    for pid in helpers_of(proc):
        os.kill(pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    assert "worker process died" in one_clear_line(stderr)
    assert_intact(out, before, previous)
    assert not staging(out)


def test_build_killed_takes_its_helper_with_it(big_db: Path, sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    published(out, sample_db)
    proc = start_build(big_db, out)
    wait_for(lambda: writing_documents(out) and bool(helpers_of(proc)), proc, "the helper was writing")
    helpers = helpers_of(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in helpers):
        assert time.monotonic() < deadline, "the helper outlived the killed build"
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True
