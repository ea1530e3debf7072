"""`build --scheduler`: the build's tasks on a real Dask cluster (`dask scheduler`, `dask worker` processes over TCP on
loopback) publish the release a one-machine build publishes, byte for byte, also when a worker dies
running a task; a cluster that cannot finish the build fails in one line and publishes nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, get_task_stream
from distributed.diagnostics.plugin import WorkerPlugin

from builder.build import BuildResult, BuildSettings, build
from builder.errors import ClusterError
from builder.importer.run import import_feed
from builder.release.bundle import verify
from builder.release.output import OutputLayout
from tests.conftest import REPO, SAMPLE_FEED, SAMPLE_WINDOW
from tests.test_cli import CLI
from tests.test_cli_options import free_port
from tests.test_safety import one_clear_line

WORKERS = 2
DASK = str(Path(sys.executable).parent / "dask")
START_SECONDS = 60


class Cluster:
    """`dask scheduler` and `dask worker --nworkers 2` (each worker a process under its nanny, which
    restarts it when it dies), all on loopback over TCP, as separate programs: the test process holds a
    client only, as the `build` command does."""

    def __init__(self, root: Path, **config: str) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        env = {**os.environ, "PYTHONPATH": str(REPO), **config}  # the workers unpickle this module's plugin
        self.log = (root / "dask.log").open("ab")
        common = {"env": env, "stdout": self.log, "stderr": subprocess.STDOUT, "start_new_session": True}
        port = self.address.rsplit(":", 1)[1]
        self.processes = [
            subprocess.Popen(
                [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **common
            ),
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    self.address,
                    "--nworkers",
                    str(WORKERS),
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                **common,
            ),
        ]
        with Client(self.address, timeout=START_SECONDS) as client:
            client.wait_for_workers(WORKERS, timeout=START_SECONDS)

    def close(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


@contextlib.contextmanager
def cluster(root: Path, **config: str) -> Iterator[Cluster]:
    running = Cluster(root, **config)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running.address


def settings(db_url: str, out: Path, **more: Any) -> BuildSettings:
    first, days = SAMPLE_WINDOW
    return BuildSettings(
        **{"db_url": db_url, "out_dir": out, "departures_from": first, "departures_days": days, **more}
    )


def assert_same_release(local: BuildResult, distributed: BuildResult) -> None:
    assert distributed.build_id == local.build_id
    assert (distributed.release / "manifest.json").read_bytes() == (
        local.release / "manifest.json"
    ).read_bytes()
    verify(distributed.release)  # every file the manifest lists, with its bytes and sha256, and nothing else
    assert distributed.documents == local.documents


@pytest.fixture
def sample_pg(pg_url: str) -> str:
    import_feed(SAMPLE_FEED, db_url=pg_url)
    return pg_url


def test_dask_build_from_postgresql_is_byte_identical_to_a_local_build(
    sample_pg: str, scheduler: str, tmp_path: Path
) -> None:
    local = build(settings(sample_pg, tmp_path / "local", workers=2))
    on_dask = build(settings(sample_pg, tmp_path / "dask", scheduler=scheduler))
    assert_same_release(local, on_dask)
    assert on_dask.published and OutputLayout(tmp_path / "dask").current_build_id() == local.build_id
    assert sorted(p.name for p in (tmp_path / "dask" / "releases").iterdir()) == [local.build_id]


def test_dask_build_from_a_pinned_sqlite_file_is_byte_identical(scheduler: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    local = build(settings(url, tmp_path / "local", workers=1, compress=("gzip",)))
    assert_same_release(
        local, build(settings(url, tmp_path / "dask", scheduler=scheduler, compress=("gzip",)))
    )


def test_dask_build_of_several_feeds_from_pinned_sqlite_files_is_byte_identical(
    scheduler: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    import_two_feeds(url)
    local = build(settings(url, tmp_path / "local", workers=2, site=True))
    assert_same_release(local, build(settings(url, tmp_path / "dask", scheduler=scheduler, site=True)))


class KillOnTask(WorkerPlugin):
    """Kills the worker process (SIGKILL: no goodbye to the scheduler) when it starts one of the build's
    tasks: the first time only, across every worker, while `once` does not exist; every time without it."""

    def __init__(self, marker: Path, once: bool) -> None:
        self.marker, self.once = str(marker), once

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith("run_on_worker"):
            return
        if self.once:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
        else:
            Path(self.marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)


def import_two_feeds(url: str) -> None:
    for feed_id in ("sample", "again"):  # the same feed twice: every id collides across the two
        import_feed(SAMPLE_FEED, db_url=url, feed_id=feed_id)


@pytest.mark.parametrize("feeds", ["one", "two"])
def test_dask_build_with_a_worker_killed_mid_build_is_byte_identical(
    pg_url: str, tmp_path: Path, feeds: str
) -> None:
    if feeds == "one":
        import_feed(SAMPLE_FEED, db_url=pg_url)
    else:
        import_two_feeds(pg_url)
    marker = tmp_path / "killed"
    with cluster(tmp_path) as running, Client(running.address) as client:
        client.register_plugin(KillOnTask(marker, once=True))
        local = build(settings(pg_url, tmp_path / "local", workers=2))
        on_dask = build(settings(pg_url, tmp_path / "dask", scheduler=running.address))
    assert marker.exists(), "no worker was killed: the test proves nothing"
    assert_same_release(local, on_dask)


def test_dask_build_whose_workers_keep_dying_fails_in_one_line_and_publishes_nothing(
    sample_pg: str, tmp_path: Path
) -> None:
    out = tmp_path / "dask"
    first = build(settings(sample_pg, out, workers=1, departures_days=1))  # something published before
    marker = tmp_path / "killed"
    with (
        cluster(tmp_path, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1") as running,
        Client(running.address) as client,
    ):
        client.register_plugin(KillOnTask(marker, once=False))
        with pytest.raises(ClusterError, match="kept dying") as raised:
            build(settings(sample_pg, out, scheduler=running.address))
    assert marker.exists()
    assert "\n" not in str(raised.value) and raised.value.exit_code == 7
    layout = OutputLayout(out)
    assert layout.current_build_id() == first.build_id
    assert layout.release_ids() == [first.build_id]
    assert not [p for p in layout.releases.iterdir() if p.name.startswith(".tmp-")]


def test_dask_build_with_no_scheduler_there_exits_7_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gtfs.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    address = f"tcp://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [CLI, "build", "--db", url, "--out", str(tmp_path / "out"), "--scheduler", address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )
    assert done.returncode == 7, done.stderr
    assert f"cannot reach the Dask scheduler at {address}" in one_clear_line(done.stderr)
    assert not (tmp_path / "out" / "current").exists()


def test_dask_build_refuses_local_only_options(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "build", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--workers does not go with --scheduler" in done.stderr


def test_dask_build_of_several_feeds_from_postgresql_is_byte_identical(
    pg_url: str, scheduler: str, tmp_path: Path
) -> None:
    import_two_feeds(pg_url)
    local = build(settings(pg_url, tmp_path / "local", workers=2))
    with Client(scheduler) as client, get_task_stream(client) as stream:
        on_dask = build(settings(pg_url, tmp_path / "dask", scheduler=scheduler))
    assert_same_release(local, on_dask)
    listed = (on_dask.release / "manifest.json").read_text()
    assert '"feeds/sample/stops/' in listed and '"feeds/again/stops/' in listed
    # every feed's tasks are submitted at once: the second feed's start before the first feed's end
    ran = {feed: computing(stream.data, f"run_on_worker-feeds-{feed}-") for feed in ("sample", "again")}
    assert ran["sample"] and ran["again"]
    assert min(start for start, _ in ran["again"]) < max(stop for _, stop in ran["sample"])


def computing(stream: list[dict[str, Any]], prefix: str) -> list[tuple[float, float]]:
    """When the tasks whose keys start with `prefix` ran, from the scheduler's task stream."""
    return [
        (span["start"], span["stop"])
        for record in stream
        if str(record["key"]).startswith(prefix)
        for span in record["startstops"]
        if span["action"] == "compute"
    ]
