"""A build's work as tasks: small picklable descriptions, each run by one function wherever it runs.

A **task** is one pass (builder.snapshot.kinds) over one id range. `run_task` runs it: in the build
process or a forked helper (builder.snapshot.workers), on a Dask worker (builder.snapshot.cluster), or in
one shard of a sharded build (builder.shards). Everything a task needs crosses to it as plain data —
the task, the build's `TaskSetup` (the pinned database as strings, the staging folder, the window; in a
database of several feeds, each feed's own, naming its database and its folder) and what its pass's
`prepare` read — and it hands back its manifest entries, the problems it met and the bytes it wrote, so
whoever collects them writes the manifest. A task's documents depend on its ids
only, never on how the work was cut: any plan gives the same release, byte for byte.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.pool import NullPool

from builder.errors import BuildError
from builder.release.entries import EntryLog
from builder.release.output import DocumentWriter
from builder.snapshot.calendars import Window
from builder.snapshot.kinds import PASS_BY_NAME, Ids, Pass, documents_under, kind
from builder.snapshot.lookups import load_lookups
from builder.snapshot.memory import release_memory
from builder.snapshot.passkit import Made, PassInput, Problems, StagingInput
from builder.snapshot.pinning import PinnedDatabase
from builder.snapshot.source import EVERYTHING, KeyRange, Source
from builder.snapshot.spool import Spool

BATCH = 1000  # documents between progress reports: the hot loop never pays per document


@dataclass(frozen=True)
class Task:
    """One pass over the ids of one range (EVERYTHING for a pass run as a single task)."""

    pass_name: str
    span: KeyRange = EVERYTHING

    def describe(self) -> str:
        low, high = self.span.low, self.span.high
        if low is None and high is None:
            return f"pass {self.pass_name}"
        return f"pass {self.pass_name}, ids {low or '(first)'!r} to {high or '(last)'!r}"


@dataclass(frozen=True)
class TaskSetup:
    """What every task of one build shares: plain data, so it crosses a fork, a pickle or the network."""

    database: PinnedDatabase
    staging: Path  # where documents go, at their release paths
    window: Window
    compress: tuple[str, ...] = ()
    # Set on shared storage (a cluster): files are written here first, then renamed into the staging
    # folder (see DocumentWriter), and a task that does not see this folder refuses to run.
    scratch: Path | None = None
    # the feed's folder in a snapshot of several feeds (builder.snapshot.kinds.documents_under), "" for
    # one unnamed feed: a task of one feed of many is this setup with that feed's database and folder
    prefix: str = ""
    # the BuildSettings flags the build has ("site"): kinds made only on request (kinds.DocumentKind.when)
    flags: frozenset[str] = frozenset()

    def describe(self, task: Task) -> str:
        """The task in a message: among several feeds, naming its feed."""
        if not self.prefix:
            return task.describe()
        return f"feed {self.prefix.rstrip('/').rsplit('/', 1)[-1]}, {task.describe()}"


@dataclass
class TaskResult:
    """What tasks wrote: the sorted runs of their manifest entries (names under the staging folder's
    builder.release.entries.FOLDER) and how many documents of each kind, never the entries themselves."""

    runs: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bytes_written: int = 0

    @property
    def documents(self) -> int:
        return sum(self.kinds.values())

    def add(self, other: TaskResult) -> None:
        self.runs += other.runs
        for kind_name, count in other.kinds.items():
            self.kinds[kind_name] = self.kinds.get(kind_name, 0) + count
        self.problems += other.problems
        self.bytes_written += other.bytes_written


class Counter(Protocol):
    """Where a task reports documents written, BATCH at a time (the build's progress)."""

    def add(self, documents: int) -> None: ...


def run_task(
    task: Task,
    setup: TaskSetup,
    prepared: Any = None,
    *,
    counter: Counter | None = None,
    source: Source | None = None,
) -> TaskResult:
    """Run one task: its pass's generator over its span, every document written where its kind goes.

    `source` is an engine the caller keeps across tasks (a cluster worker's); without one, the task
    opens its own and disposes of it (engines do not cross a fork)."""
    if setup.scratch is not None and not setup.scratch.is_dir():
        raise BuildError(
            f"this worker does not see the build's staging folder {setup.staging}: every worker must "
            "share the storage the release is written to"
        )
    pass_ = PASS_BY_NAME[task.pass_name]
    log = EntryLog.under(setup.staging)
    writer, problems = DocumentWriter(setup.staging, setup.compress, setup.scratch, log), Problems()
    with (
        documents_under(setup.prefix),
        _pass_input(pass_, setup, problems, task.span, prepared, source) as inp,
    ):
        write_made(pass_, pass_.make()(inp), writer, counter)
    del inp  # its lookups, before the memory is handed back
    if counter is not None:
        counter.add(writer.documents % BATCH)
    runs = log.close()
    release_memory()
    return TaskResult(runs, dict(log.kinds), list(problems), writer.bytes_written)


@contextmanager
def _pass_input(
    pass_: Pass,
    setup: TaskSetup,
    problems: Problems,
    span: KeyRange = EVERYTHING,
    prepared: Any = None,
    source: Source | None = None,
) -> Iterator[PassInput | StagingInput]:
    """What a task (or a `prepare`) of `pass_` reads: a connection of its own, or of the caller's
    `source`, and the lookups; only the staging folder for a pass that reads no database."""
    if not pass_.reads_database:
        yield StagingInput(setup.staging, span, prepared)
        return
    own = source is None
    source = source or setup.database.source()
    try:
        with Spool(setup.scratch or setup.staging) as spool, source.connect() as conn:
            lookups = load_lookups(source, conn)
            yield PassInput(
                source,
                conn,
                lookups,
                problems,
                spool,
                span,
                setup.window,
                prepared,
                setup.staging,
                setup.flags,
            )
    finally:
        if own:
            source.engine.dispose()


def write_made(
    pass_: Pass, made: Iterable[Made], writer: DocumentWriter, counter: Counter | None = None
) -> None:
    """Write what a pass yields, each document where its kind's registry entry places it."""
    kinds = {name: kind(name) for name in pass_.kinds}
    for kind_name, id_, doc in made:
        document_kind = kinds.get(kind_name)
        if document_kind is None:
            raise BuildError(
                f"pass {pass_.name} made a {kind_name!r} document; builder.snapshot.kinds declares "
                f"it makes {', '.join(pass_.kinds)}"
            )
        writer.write(document_kind, id_, doc)
        if counter is not None and writer.documents % BATCH == 0:
            counter.add(BATCH)


def prepare_pass(pass_name: str, setup: TaskSetup, source: Source | None = None) -> Any:
    """What every task of a split pass looks up (its `prepare`), read once for all of them."""
    pass_ = PASS_BY_NAME[pass_name]
    with documents_under(setup.prefix), _pass_input(pass_, setup, Problems(), source=source) as inp:
        return pass_.prepared(inp)


# --- planning ------------------------------------------------------------------------------------------


def plan_tasks(weighing: Weighing, passes: Sequence[Pass], parts: int) -> list[Task]:
    """Each split pass in the registry's order (the heavier first, so no process idles while another
    finishes a whole pass), cut into `parts` id ranges of even weight (the route pass by trips per route,
    the stop pass by stops, the boards by visits); parts 1 takes each pass whole. Deterministic: the same
    database state and `parts` give the same ranges."""
    if parts == 1:
        return [Task(p.name) for p in passes]
    weights = weighing.of(passes)
    return [Task(p.name, span) for p in passes for span in split_evenly(weights[p.name], parts)]


def split_evenly(weights: list[tuple[str, int]], parts: int) -> list[KeyRange]:
    """Consecutive ranges covering every id (the ends stay open), each holding about 1/parts of the weight."""
    total = sum(w for _, w in weights)
    bounds: list[str] = []
    seen = 0
    for id_, weight in weights:
        if len(bounds) < parts - 1 and seen >= total * (len(bounds) + 1) / parts:
            bounds.append(id_)
        seen += weight
    edges: list[str | None] = [None, *bounds, None]
    return [KeyRange(low, high) for low, high in pairwise(edges)]


Weights = list[tuple[str, int]]  # (id, rows) in byte order: what a split pass is cut by
Piece = tuple[int, Task]  # a task of one feed of several: (the feed's index, the task)
_Place = tuple[int, int, str]  # (feed index, 0 its start or 1 an id, the id): a place among every feed's ids


def read_weights(database: PinnedDatabase, passes: Sequence[Pass]) -> dict[str, Weights]:
    """Each split pass's weights in one feed's database."""
    return Weighing(database).of(passes)


@dataclass
class Weighing:
    """The weights of one feed's database, each column read once however many passes and phases of the
    build are cut by it (the site's passes by the same columns as the documents': trips per route,
    visits per stop); the database is pinned, so they cannot change during the build."""

    database: PinnedDatabase
    _read: dict[Ids, Weights] = field(default_factory=dict)

    def of(self, passes: Sequence[Pass]) -> dict[str, Weights]:
        """Each split pass's weights, by pass name."""
        split = {p.name: p.split_by for p in passes if p.split_by is not None}
        missing = [ids for ids in dict.fromkeys(split.values()) if ids not in self._read]
        if missing:
            source = self.database.source()
            try:
                with source.connect() as conn:
                    for ids in missing:
                        self._read[ids] = source.weights(conn, ids.table, ids.column)
            finally:
                source.engine.dispose()
        return {name: self._read[ids] for name, ids in split.items()}


def split_across(feeds: Sequence[tuple[KeyRange, Weights]], parts: int) -> list[list[tuple[int, KeyRange]]]:
    """One pass over several feeds' ids, feed after feed, cut into at most `parts` parts of even weight,
    each a list of (feed index, range): a part may finish one feed and start the next, so a small feed
    shares a part and a large one spreads over several. Every id is in one part exactly, and a feed
    without ids is in the part its place falls in. Each feed comes as its outer range (EVERYTHING, or the
    range a shard holds of it, cut again for the shard's processes) and the weights of its ids inside
    it. One feed of EVERYTHING: the ranges of split_evenly."""
    total = sum(w for _, weights in feeds for _, w in weights)
    bounds: list[_Place] = []
    seen = 0
    for index, (_, weights) in enumerate(feeds):
        for position, (id_, weight) in enumerate(weights):
            if len(bounds) < parts - 1 and seen >= total * (len(bounds) + 1) / parts:
                bounds.append((index, 1, id_) if position else (index, 0, ""))
            seen += weight
    edges: list[_Place] = [(-1, 0, ""), *bounds, (len(feeds), 0, "")]
    return [
        [
            (index, KeyRange(_id_in(low, index, outer.low), _id_in(high, index, outer.high)))
            for index, (outer, _) in enumerate(feeds)
            if max(low, (index, 0, "")) < min(high, (index + 1, 0, ""))  # the part holds some of the feed
        ]
        for low, high in pairwise(edges)
    ]


def _id_in(place: _Place, index: int, outer: str | None) -> str | None:
    """The id a part's edge falls on if it falls inside feed `index`, else the feed's own end."""
    return place[2] if place[:2] == (index, 1) else outer


def split_pass(weights: Sequence[dict[str, Weights]], pass_name: str, parts: int) -> list[list[Piece]]:
    """A split pass over every feed (`weights`: each feed's, from read_weights) cut into at most `parts`
    parts of even weight, as each part's tasks."""
    spans = split_across([(EVERYTHING, w[pass_name]) for w in weights], parts)
    return [[(index, Task(pass_name, span)) for index, span in part] for part in spans]


def within(outer: KeyRange, weights: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The weights of the ids inside `outer` (a shard's range, cut again for its own processes)."""
    return [
        (id_, w)
        for id_, w in weights
        # str order is code point order, which is UTF-8 byte order: the order ids are ranged in
        if (outer.low is None or id_ >= outer.low) and (outer.high is None or id_ < outer.high)
    ]


# --- a cluster worker's engines --------------------------------------------------------------------------

_worker_sources: dict[PinnedDatabase, Source] = {}
_worker_build: list[Path] = []  # the staging folder of the build the engines are for
_worker_lock = threading.Lock()


def worker_source(setup: TaskSetup) -> Source:
    """The engine a worker process keeps for one database (one feed's) of the build it works for, made
    the first time a task of that feed comes; a task of another build closes the old build's (its
    snapshot is gone with its session). No pool: a connection is held only while a task or a `prepare`
    runs, so a worker holds at most as many as its threads, however many feeds their tasks are of."""
    with _worker_lock:
        if _worker_build != [setup.staging]:
            _dispose_worker_sources()
            _worker_build[:] = [setup.staging]
        found = _worker_sources.get(setup.database)
        if found is None:
            found = _worker_sources[setup.database] = setup.database.source(poolclass=NullPool)
        return found


def _dispose_worker_sources() -> None:
    for old in _worker_sources.values():
        old.engine.dispose()
    _worker_sources.clear()
    _worker_build.clear()


def forget_worker_sources() -> int:
    """Close a worker's engines at the end of a build (its connections too); returns how many."""
    with _worker_lock:
        count = len(_worker_sources)
        _dispose_worker_sources()
        return count
