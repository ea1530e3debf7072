"""Tasks shared by this process and forked helpers: every task done once, failures loud, none left over."""

from __future__ import annotations

import os
import time

import pytest

from builder.errors import BuildError
from builder.snapshot.workers import TaskBoard, run_shared


def _slow_square(n: int) -> tuple[int, int]:
    time.sleep(0.02)  # long enough that the helper gets tasks too
    return os.getpid(), n * n


def test_run_shared_does_every_task_once_across_processes() -> None:
    results = run_shared(TaskBoard(range(40)), _slow_square, helpers=1)
    assert sorted(value for _, value in results) == [n * n for n in range(40)]
    pids = {pid for pid, _ in results}
    assert os.getpid() in pids and len(pids) == 2


def test_run_shared_without_helpers_runs_here() -> None:
    results = run_shared(TaskBoard([1, 2, 3]), _slow_square, helpers=0)
    assert results == [(os.getpid(), 1), (os.getpid(), 4), (os.getpid(), 9)]


def _misbehaves_in_helper(job: tuple[int, str]) -> int:
    """In a helper, does what `job` names; in the build process, a plain slow task."""
    parent, how = job
    if os.getpid() != parent:
        if how == "error":
            raise BuildError("cannot write /x: disk full")
        if how == "crash":
            raise KeyError("a bug")
        os._exit(9)
    time.sleep(0.05)
    return 1


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("error", "disk full"),  # a BuildError comes back as itself
        ("crash", "(?s)worker process failed.*KeyError: 'a bug'"),  # anything else, with its traceback
        ("dies", "worker process died"),  # no word at all: the pipe closes
    ],
)
def test_run_shared_fails_loudly_when_a_helper_does(how: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        run_shared(TaskBoard([(os.getpid(), how)] * 20), _misbehaves_in_helper, helpers=1)


def _fails_here(parent: int) -> int:
    if os.getpid() == parent:
        raise BuildError("here")
    time.sleep(0.05)
    return 1


def test_run_shared_stops_its_helpers_when_this_process_fails() -> None:
    parent = os.getpid()
    board = TaskBoard([parent] * 200)
    with pytest.raises(BuildError, match="here"):
        run_shared(board, _fails_here, helpers=1)
    assert board.claim() is None  # nobody takes another task once one failed
    assert not [
        c for c in os.listdir("/proc") if c.isdigit() and _parent_of(int(c)) == parent and _is_python(int(c))
    ]


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return -1


def _is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().startswith("python")
    except OSError:
        return False
