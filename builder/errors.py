"""One family of errors, turned into a clear message (never a traceback) at the CLI boundary."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class BuildError(Exception):
    """Anything that stops an import or a build; its message is what the user reads."""

    exit_code = 1


class FeedError(BuildError):
    """The feed (or a database someone else filled) breaks the GTFS rules the documents rely on.

    `problems` holds one line each, `file:line: what is wrong`, up to the reporting limit.
    """

    exit_code = 3

    def __init__(self, summary: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        lines = [summary, *("  " + p for p in self.problems)]
        super().__init__("\n".join(lines))


class DatabaseError(BuildError):
    """The database cannot be opened or read."""

    exit_code = 4


class DatabaseChangedError(BuildError):
    """The database changed during the build in a way the build could not keep out of its reads: nothing
    was published, and the next run publishes the new state."""

    exit_code = 6


class ClusterError(BuildError):
    """`build --scheduler`: the Dask cluster could not run the build (the scheduler unreachable or lost,
    no workers, a task whose workers kept dying); nothing was published."""

    exit_code = 7


class ShardError(BuildError):
    """`build --shard` or `build --merge`: the shards are not one whole build (one missing, there twice,
    half-written, or made from another database state or plan); nothing was published."""

    exit_code = 8


class LockedError(BuildError):
    """Another build holds the output folder's lock."""

    exit_code = 75  # EX_TEMPFAIL: cron wrappers treat it as "try later", not as a failure of the data


class VerifyError(BuildError):
    """A release or bundle does not match its manifest; `problems` names each difference."""

    exit_code = 3

    def __init__(self, summary: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__("\n".join([summary, *("  " + p for p in self.problems)]))


def io_error(exc: OSError, doing: str, path: object = None) -> BuildError:
    """One line for an OSError: what we were doing, the path, and the reason (a full disk said plainly)."""
    reason = (
        "no space left on device (disk full)" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    )
    where = path or exc.filename
    return BuildError(f"{doing} {where}: {reason}" if where else f"{doing}: {reason}")


def guarded_io(action: Callable[[], T], doing: str, path: Path) -> T:
    """`action()`, its OSError turned into io_error's one line."""
    try:
        return action()
    except OSError as exc:
        raise io_error(exc, doing, exc.filename or path) from exc


class PublishError(BuildError):
    """The release cannot be read, or the object store refused what publishing needs."""

    exit_code = 5
