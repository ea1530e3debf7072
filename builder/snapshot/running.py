"""Running a build's passes: the split passes' tasks in this process and forked helpers, or on a Dask
cluster; the site's passes cut finer across the same processes; the single-task passes in this process.
What the tasks wrote is gathered into the build's writer (builder.build owns the phases around them)."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from builder.errors import guarded_io
from builder.progress import Progress, Silent
from builder.release.output import DocumentWriter
from builder.snapshot.across import naming
from builder.snapshot.calendars import Window
from builder.snapshot.cluster import run_on_cluster
from builder.snapshot.kinds import SPLIT_PASSES, Pass
from builder.snapshot.lookups import load_lookups
from builder.snapshot.passkit import PassInput, Problems
from builder.snapshot.pinning import PinnedDatabase, PinnedFeed
from builder.snapshot.source import unreliable
from builder.snapshot.spool import Spool
from builder.snapshot.tasks import (
    Task,
    TaskResult,
    TaskSetup,
    Weighing,
    plan_tasks,
    prepare_pass,
    run_task,
    write_made,
)
from builder.snapshot.workers import TaskBoard, run_shared

if TYPE_CHECKING:
    from builder.build import BuildSettings

SCRATCH = ".partial"  # on a cluster, where each document is written before it is renamed into place
# an optional pass's split tasks per process: finer than the documents phase's one per process, so that
# the processes finish together though a range's pages cost more than its weight says
OPTIONAL_TASKS_PER_WORKER = 4


def write_views(
    settings: BuildSettings,
    feed: PinnedFeed,
    writer: DocumentWriter,
    progress: Progress,
    window: Window,
    weighing: Weighing,
) -> None:
    """One feed's split passes' tasks, here and in forked helpers."""
    setup = TaskSetup(
        feed.database, writer.staging, window, settings.compress, prefix=feed.prefix, flags=settings.flags()
    )
    gather(writer, run_here(settings, setup, progress, weighing))


def write_views_on_cluster(
    scheduler: str,
    settings: BuildSettings,
    feeds: tuple[PinnedFeed, ...],
    checked: list[tuple[int, Window]],
    writer: DocumentWriter,
    progress: Progress,
) -> None:
    """Every feed's split passes' tasks on the Dask cluster at `scheduler`, submitted together (each
    task's setup names its feed's database and folder), then gathered feed by feed."""
    staging = writer.staging
    scratch = staging / SCRATCH
    guarded_io(lambda: scratch.mkdir(exist_ok=True), "cannot create the scratch folder in", staging)
    setups = [
        TaskSetup(feed.database, staging, window, settings.compress, scratch, feed.prefix, settings.flags())
        for feed, (_, window) in zip(feeds, checked, strict=True)
    ]
    with progress.phase("documents", sum(total for total, _ in checked)):
        results = run_on_cluster(scheduler, setups, SPLIT_PASSES, progress.advance)
    guarded_io(lambda: shutil.rmtree(scratch), "cannot remove the scratch folder", scratch)
    for feed, result in zip(feeds, results, strict=True):
        with naming(feed):
            gather(writer, result)


def gather(writer: DocumentWriter, result: TaskResult) -> None:
    """What the tasks wrote, into the build's writer; the release is refused if any found problems."""
    writer.log.adopt(result.runs, result.kinds)
    writer.bytes_written += result.bytes_written
    if result.problems:
        raise unreliable(result.problems[: Problems.LIMIT])


def write_optional_passes(
    settings: BuildSettings,
    feed: PinnedFeed,
    writer: DocumentWriter,
    window: Window,
    passes: list[Pass],
    weighing: Weighing,
) -> None:
    """The passes one flag asks for (the site), across this process and its helpers like the documents
    phase (on this machine also with --scheduler: they read the staging folder, not the database much),
    cut finer than the documents phase."""
    setup = TaskSetup(feed.database, writer.staging, window, settings.compress, prefix=feed.prefix)
    parts = settings.workers * OPTIONAL_TASKS_PER_WORKER if settings.workers > 1 else 1
    gather(writer, run_here(settings, setup, Silent(), weighing, passes, parts))


def run_here(
    settings: BuildSettings,
    setup: TaskSetup,
    progress: Progress,
    weighing: Weighing,
    passes: Iterable[Pass] = SPLIT_PASSES,
    parts: int | None = None,
) -> TaskResult:
    """`passes` taken in turn by this process and its helpers: each split pass cut into `parts` id
    ranges (by default one per worker), each other pass one task."""
    prepared = prepare_passes(setup, passes)
    # a pass whose prepare found nothing to do (boards with a window of 0 days) gets no task
    passes = [p for p in passes if not p.prepare or prepared.get(p.name) is not None]
    tasks = plan_tasks(weighing, [p for p in passes if p.split_by is not None], parts or settings.workers)
    tasks += [Task(p.name) for p in passes if p.split_by is None]
    return run_tasks_here(tasks, setup, prepared, settings.workers, progress)


def run_tasks_here(
    tasks: list[Task], setup: TaskSetup, prepared: dict[str, Any], workers: int, progress: Progress
) -> TaskResult:
    """`tasks` taken in turn by this process and workers - 1 forked helpers."""
    tally = Tally(progress)
    work = partial(_run_prepared, setup=setup, prepared=prepared, tally=tally)
    result = TaskResult()
    for done in run_shared(
        TaskBoard(tasks), work, helpers=max(0, min(workers, len(tasks)) - 1), waiting=tally.show
    ):
        result.add(done)
    return result


def _run_prepared(task: Task, *, setup: TaskSetup, prepared: dict[str, Any], tally: Tally) -> TaskResult:
    return run_task(task, setup, prepared.get(task.pass_name), counter=tally)


def prepare_passes(setup: TaskSetup, passes: Iterable[Pass]) -> dict[str, Any]:
    """What split passes look up, read once here so that the forked helpers share it instead of each
    task reading it again (pass name -> what its `prepare` returned)."""
    return {p.name: prepare_pass(p.name, setup) for p in passes if p.prepare}


class Tally:
    """Documents written by every process, in shared memory; only the build process draws progress."""

    def __init__(self, progress: Progress) -> None:
        self._count = multiprocessing.get_context("fork").Value("q", 0)
        self._progress = progress
        self._owner = os.getpid()

    def add(self, documents: int) -> None:
        with self._count.get_lock():
            self._count.value += documents
        if os.getpid() == self._owner:
            self.show()

    def show(self) -> None:
        self._progress.advance(self._count.value)


def write_single_passes(
    settings: BuildSettings,
    database: PinnedDatabase,
    writer: DocumentWriter,
    window: Window,
    passes: Iterable[Pass],
) -> None:
    """Passes the registry runs as one task each, in the build process, after the split passes."""
    source = database.source()
    problems = Problems()
    with Spool(writer.staging) as spool, source.connect() as conn:
        inp = PassInput(
            source, conn, load_lookups(source, conn), problems, spool, window=window, staging=writer.staging
        )
        for pass_ in passes:
            write_made(pass_, pass_.make()(inp), writer)
    source.engine.dispose()
    if problems:
        raise unreliable(problems)
