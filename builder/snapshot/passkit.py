"""What every pass shares: the input a pass's generator gets, what it yields, and the small helpers of
the view passes (time order, integrity problems).

A pass is declared once in builder.snapshot.kinds (its name, how its tasks are planned, its generator); the
generator takes a PassInput (a StagingInput, for a pass that reads only the staging folder) and yields
`(kind, id, document)` for kinds the registry says it makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from builder.release.output import Assembled, Raw, Streamed
from builder.snapshot.calendars import Window
from builder.snapshot.kinds import BY_NAME
from builder.snapshot.lookups import Doc, Lookups
from builder.snapshot.source import EVERYTHING, KeyRange, Source
from builder.snapshot.spool import Spool

# (kind name, id, document): the id is the GTFS id of per-id kinds, the name of a named document
# (a schema's kind), None for a single document such as routes.json.
Made = tuple[str, str | None, Doc | Streamed | Assembled | Raw | dict[str, Any]]
Generator = Callable[["PassInput | StagingInput"], Iterator[Made]]
NO_DATES = Window(date(1970, 1, 1), 0)  # for passes run without a window (no dated documents)
LATE = (1 << 30, "")  # sort key of a visit or trip without any time: after every timed one


def time_key(t: str | None) -> tuple[int, str]:
    # Zero-padded times compare as text once their lengths agree; hours may pass 24 (and even 99).
    return LATE if t is None else (len(t), t)


class Problems(list[str]):
    """Integrity problems met during the walk; the build refuses to publish if any were found."""

    LIMIT = 50

    def add(self, message: str) -> None:
        if len(self) < self.LIMIT:
            self.append(message)


@dataclass(frozen=True)
class StagingInput:
    """What a task of a pass that reads only the documents written before it (the site's passes) gets:
    no connection, no reflected schema, no lookups, which cost such a small task more than its pages."""

    staging: Path
    span: KeyRange = EVERYTHING
    prepared: Any = None  # what the pass's `prepare` read from the staging folder before the fork


@dataclass(frozen=True)
class PassInput:
    """Everything one task of a pass may read: its own connection (engines do not cross processes), the
    small lookups, where to report problems, the id range it covers and scratch space for large documents;
    the dates dated documents are written for, and what the pass's `prepare` read before the helpers forked."""

    source: Source
    conn: Connection
    lookups: Lookups
    problems: Problems
    spool: Spool
    span: KeyRange = EVERYTHING
    window: Window = NO_DATES
    prepared: Any = None
    # the staging folder, for passes that read back what earlier passes wrote (the site)
    staging: Path | None = None
    # the build's flags ("site"): a kind declared with `when` is made only when its flag is here
    flags: frozenset[str] = frozenset()

    def makes(self, kind_name: str) -> bool:
        """Whether this build asks for the kind (always, unless the registry makes it on request)."""
        when = BY_NAME[kind_name].when
        return when is None or when in self.flags
