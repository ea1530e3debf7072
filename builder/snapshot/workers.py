"""Tasks shared between this process and forked helpers: whoever is free takes the next one.

The build process works through the tasks itself instead of waiting on a pool: a pool's idle parent is
one more Python process in memory (its imports, its share of every page the children copy), and on a
2-core machine one helper beside the parent already keeps both cores busy.

A helper is forked, so it starts with everything this process has imported; it sends its results back
through a pipe when it has no task left. A helper that dies (kill -9, out of memory) takes its claimed
task with it, so the build fails rather than publish without that task's documents; a helper dies with
the build (PR_SET_PDEATHSIG), so a killed build never leaves one writing into a staging folder.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from builder.errors import BuildError

T = TypeVar("T")
R = TypeVar("R")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_SECONDS = 0.2
MAX_WORKERS = 16  # processes in all, this one included
_FORK = multiprocessing.get_context("fork")


class TaskBoard(Generic[T]):
    """The tasks in order and a counter in shared memory: claiming one is a locked increment."""

    def __init__(self, tasks: Sequence[T]) -> None:
        self.tasks = list(tasks)
        self._next = _FORK.Value("i", 0)
        self._failed = _FORK.Value("b", 0)

    def claim(self) -> T | None:
        with self._next.get_lock():
            if self._failed.value or self._next.value >= len(self.tasks):
                return None
            index: int = self._next.value
            self._next.value = index + 1
        return self.tasks[index]

    def fail(self) -> None:
        """Nobody takes another task: one has failed, so the build will."""
        self._failed.value = 1


def run_shared(
    board: TaskBoard[T], work: Callable[[T], R], *, helpers: int, waiting: Callable[[], None] = lambda: None
) -> list[R]:
    """Every task's result, from this process and `helpers` forked ones (task order is not kept).

    `waiting` is called every POLL_SECONDS while this process waits for its helpers."""
    # Forked helpers share this process's pages until written; the collector writes to every object it
    # scans, so freeze what exists now (modules, the plan) and the helpers keep those pages shared.
    # Collect first: garbage frozen here is out of reach of every collection made while frozen (a task's
    # release_memory), so a build of many feeds kept each feed's dead engine and metadata (~1 MB a feed).
    if helpers:
        gc.collect()
        gc.freeze()
    started = [_start_helper(board, work) for _ in range(helpers)]
    try:
        results = _work_through(board, work)
        for process, pipe in started:
            results += _collect(process, pipe, waiting)
        return results
    except BaseException:
        board.fail()
        raise
    finally:
        for process, pipe in started:
            if process.is_alive():
                process.kill()
            process.join()
            pipe.close()
        if helpers:
            gc.unfreeze()


def _work_through(board: TaskBoard[T], work: Callable[[T], R]) -> list[R]:
    results = []
    while (task := board.claim()) is not None:
        try:
            results.append(work(task))
        except BaseException:
            board.fail()
            raise
    return results


def _start_helper(board: TaskBoard[T], work: Callable[[T], R]) -> tuple[Any, Connection]:
    receiver, sender = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=_helper_main, args=(board, work, sender, os.getpid()), daemon=True)
    process.start()
    sender.close()
    return process, receiver


def _helper_main(board: TaskBoard[T], work: Callable[[T], R], sender: Connection, parent: int) -> None:
    _die_with(parent)
    try:
        outcome: tuple[str, Any] = ("done", _work_through(board, work))
    except BuildError as exc:
        outcome = ("error", exc)
    except BaseException as exc:  # noqa: BLE001 - anything else is reported whole, then the build fails
        outcome = ("crash", "".join(traceback.format_exception(exc)))
    sender.send(outcome)
    sender.close()


def _collect(process: Any, pipe: Connection, waiting: Callable[[], None]) -> list[Any]:
    while not pipe.poll(POLL_SECONDS):
        waiting()
        if not process.is_alive() and not pipe.poll():
            break
    try:
        kind, value = pipe.recv()
    except EOFError:
        process.join()
        raise BuildError(
            f"a build worker process died (exit status {process.exitcode}); nothing was published"
        ) from None
    if kind == "error":
        raise value
    if kind == "crash":
        raise BuildError(f"a build worker process failed; nothing was published:\n{value}")
    results: list[Any] = value
    return results


def _die_with(parent: int) -> None:
    """A helper writes into the build's staging folder under the build's lock: when the build is killed
    (kill -9 included) the helper must go too, or it would race the next build."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the build died before the line above took effect
        os._exit(1)
