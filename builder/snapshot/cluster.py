"""The build's tasks on a Dask cluster: `build --scheduler tcp://HOST:PORT`.

The client (the `build` process) pins the database, plans the tasks and submits each one
(builder.snapshot.tasks: a pass over an id range of one feed, the feed named by the task's setup) to the
scheduler, every feed's at once; the workers run `run_task` and write
their documents straight into the release's staging folder, which must be on storage every worker and
the client share (a network file system), and hand back only their manifest entries. The client then
writes the indexes, the manifest and publishes, exactly as a local build does, so the release is byte
for byte the one a single machine makes.

* **One database state.** Every task imports the client's exported PostgreSQL snapshot (builder.snapshot
  .pinning); the client's transaction stays open until the last task is done. A pinned SQLite file is
  opened through its hard link under --out, which the workers see at the same path. Each worker keeps one
  engine per feed of the build, without a pool: it holds a connection only while a task runs, so no
  more than its threads.
* **Workers dying.** The scheduler gives a dead worker's tasks to another (Dask's own recovery; a task
  whose workers died `distributed.scheduler.allowed-failures` + 1 times is given up), and a task that
  raises is retried RETRIES times. A retried task rewrites the same files; each is written under a
  temporary name in the staging folder's scratch folder and renamed, so no document is ever half
  written under its name. A task given up, a lost scheduler or a cluster without workers fails the build
  with one line (ClusterError, exit status 7): nothing is published.
* **What workers need.** transit-snapshot installed, at the client's version (checked when the build
  starts), the database reachable, and the output folder mounted at the client's path.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from importlib import metadata
from typing import Any

from builder.errors import BuildError, ClusterError
from builder.snapshot.kinds import Pass
from builder.snapshot.tasks import (
    Piece,
    Task,
    TaskResult,
    TaskSetup,
    forget_worker_sources,
    prepare_pass,
    read_weights,
    run_task,
    split_pass,
    worker_source,
)

NO_WORKERS_SECONDS = 120  # a cluster without a worker this long (all dead, none scaled up) fails the build
POLL_SECONDS = 0.5
TASKS_PER_THREAD = 2  # ranges per split pass per worker thread: a slow or restarted worker holds up less
RETRIES = 2  # for a task that raises (a dropped database connection); dead workers are the scheduler's
INSTALL = "pip install 'transit-snapshot[distributed]'"


def run_on_cluster(
    address: str, setups: Sequence[TaskSetup], passes: Sequence[Pass], advance: Callable[[int], None]
) -> list[TaskResult]:
    """Every task of `passes` over every feed (`setups`: one per feed, its database and folder) run on the
    cluster at `address`, all submitted together; each feed's results, in `setups`' order. `advance`
    gets the documents written so far."""
    dask = _distributed()
    try:
        # how long to try: Dask's distributed.comm.timeouts.connect (30 s unless configured)
        client = dask.Client(address, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_reason(exc)}") from exc
    try:
        threads = _workers_ready(client, address)
        tasks = _plan(setups, passes, max(2, TASKS_PER_THREAD * threads))
        return _run(client, address, tasks, setups, passes, advance)
    finally:
        _close(client)


def _workers_ready(client: Any, address: str) -> int:
    """The cluster's worker threads, once it has a worker running this version of transit-snapshot."""
    try:
        client.wait_for_workers(1, timeout=NO_WORKERS_SECONDS)
        versions = client.run(worker_version)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"the Dask cluster at {address} has no worker: {_reason(exc)}") from exc
    except ImportError as exc:
        raise ClusterError(
            f"the Dask workers at {address} cannot import transit-snapshot ({exc}): install it on them"
        ) from exc
    mine = worker_version()
    other = {worker: v for worker, v in versions.items() if v != mine}
    if other:
        worker, version = min(other.items())
        raise ClusterError(
            f"Dask worker {worker} runs transit-snapshot {version}, this build {mine}: "
            "install the same version on every worker"
        )
    return sum(client.nthreads().values())


def _distributed() -> Any:
    """The distributed package (untyped: Any here), or the one line saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(f"build --scheduler needs the distributed package ({exc}): {INSTALL}") from exc
    return distributed


def worker_version() -> str:
    return metadata.version("transit-snapshot")


def _plan(setups: Sequence[TaskSetup], passes: Sequence[Pass], parts: int) -> list[Piece]:
    """Each pass cut into `parts` ranges across every feed's ids (tasks.split_pass: a small feed shares a
    range with the next), pass after pass in the registry's order."""
    weights = [read_weights(setup.database, passes) for setup in setups]
    return [piece for p in passes for part in split_pass(weights, p.name, parts) for piece in part]


def _run(
    client: Any,
    address: str,
    tasks: list[Piece],
    setups: Sequence[TaskSetup],
    passes: Sequence[Pass],
    advance: Callable[[int], None],
) -> list[TaskResult]:
    # A pass's `prepare` (per feed) is a task of its own, so the scheduler can run it again should its
    # result die with a worker; the pass's tasks take its result as an argument. Every feed's tasks go
    # at once, so no worker waits at the end of one feed for the next feed's tasks.
    prepared = {
        (index, p.name): client.submit(
            prepare_on_worker,
            p.name,
            setup,
            key=_key("prepare_on_worker", setup),
            priority=len(tasks) + 1,
        )
        for index, setup in enumerate(setups)
        for p in passes
        if p.prepare
    }
    futures = {
        client.submit(
            run_on_worker,
            task,
            setups[index],
            prepared.get((index, task.pass_name)),
            key=_key("run_on_worker", setups[index]),
            retries=RETRIES,
            priority=len(tasks) - order,  # the registry's order: the heavier passes first
        ): (index, task)
        for order, (index, task) in enumerate(tasks)
    }
    # The scheduler keeps each `prepare` while tasks need it (and runs it again if a worker dies with
    # it), then lets it go: a feed's lookups are not held to the end of the build.
    prepared.clear()
    results = [TaskResult() for _ in setups]
    finishing, lonely_since = _distributed().as_completed(list(futures), loop=client.loop), None
    try:
        while not finishing.is_empty():
            if not finishing.has_ready():
                time.sleep(POLL_SECONDS)
                lonely_since = _check_workers(client, address, lonely_since)
                continue
            for future in finishing.next_batch(block=False):
                index, task = futures[future]
                results[index].add(_outcome(future, task, setups[index]))
            advance(sum(r.documents for r in results))
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"lost the Dask scheduler at {address}: {_reason(exc)}") from exc
    finally:
        client.cancel(list(futures))
    return results


def _key(function: str, setup: TaskSetup) -> str:
    """A new key for each task (none is ever the same computation as another), naming its feed for the
    dashboard and the task stream: `run_on_worker-feeds-<key>-<hex>`."""
    feed = setup.prefix.strip("/").replace("/", "-")
    return "-".join(part for part in (function, feed, uuid.uuid4().hex) if part)


def _outcome(future: Any, task: Task, setup: TaskSetup) -> TaskResult:
    from distributed.scheduler import KilledWorker

    if future.status == "finished":
        outcome: TaskResult = future.result()
        return outcome
    if future.status == "cancelled":
        raise ClusterError(f"the Dask scheduler cancelled {setup.describe(task)}; nothing was published")
    error = future.exception()
    if isinstance(error, KilledWorker):
        raise ClusterError(
            f"the Dask workers running {setup.describe(task)} kept dying (killed, or out of memory); "
            "nothing was published"
        )
    if isinstance(error, BuildError):
        raise error
    raise BuildError(
        f"{setup.describe(task)} failed on a Dask worker ({type(error).__name__}: {error}); nothing was published"
    ) from error


def _check_workers(client: Any, address: str, lonely_since: float | None) -> float | None:
    """None while the cluster has workers; since when it has had none, until that is too long."""
    if client.nthreads():
        return None
    now = time.monotonic()
    if lonely_since is not None and now - lonely_since > NO_WORKERS_SECONDS:
        raise ClusterError(
            f"the Dask cluster at {address} has had no worker for {NO_WORKERS_SECONDS} s; nothing was published"
        )
    return lonely_since or now


def _close(client: Any) -> None:
    """Workers close their engines (the build's snapshot ends with it); the client disconnects."""
    with suppress(Exception):  # a lost cluster: its workers' engines went with it
        client.run(forget_worker_sources)
    client.close()


def run_on_worker(task: Task, setup: TaskSetup, prepared: Any) -> TaskResult:
    """A task on a Dask worker, through the worker's one engine for this build."""
    return run_task(task, setup, prepared, source=worker_source(setup))


def prepare_on_worker(pass_name: str, setup: TaskSetup) -> Any:
    return prepare_pass(pass_name, setup, source=worker_source(setup))


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
