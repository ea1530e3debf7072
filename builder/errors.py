"""One family of errors, turned into a clear message (never a traceback) at the CLI boundary."""

from __future__ import annotations


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


class LockedError(BuildError):
    """Another build holds the output folder's lock."""

    exit_code = 75  # EX_TEMPFAIL: cron wrappers treat it as "try later", not as a failure of the data


class PublishError(BuildError):
    """The release cannot be read, or the object store refused what publishing needs."""

    exit_code = 5
