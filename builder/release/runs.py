"""Sorted runs on disk: records sorted in memory a bounded number at a time, written to files, then read
back merged (heapq.merge), so that sorting everything a build writes never holds it all in memory.

A record is one line, `key<TAB>value<LF>`: the key holds neither a tab nor a line feed (a document's path,
or a hex string), the value no line feed (compact JSON). Keys compare as bytes, which for UTF-8 text is
the order Python gives its str (code points). A run is a file of records sorted by key, written under a
name of its writer's own (process id and a random token) in a folder shared by every process of the build
(on a cluster, the storage every worker writes the release to): a run is only read by whoever is handed
its name, so a task that died or was retried elsewhere leaves files nobody merges, removed with the folder.
"""

from __future__ import annotations

import heapq
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from builder.errors import io_error

RUN_RECORDS = 8192  # records held before they are sorted and written: a few MB at most
MERGE_FAN = 64  # runs read at once: more are first merged into larger runs, 64 at a time
READ_BUFFER = 1 << 16

Record = tuple[bytes, bytes]  # (key, the whole line)


class RunWriter:
    """Records collected here, written as sorted runs into `folder` RUN_RECORDS at a time."""

    def __init__(self, folder: Path, limit: int = RUN_RECORDS) -> None:
        self.folder = folder
        self.limit = limit
        self.runs: list[str] = []  # names of the runs written, in `folder`
        self.held: list[Record] = []
        self._name = f"{os.getpid()}-{secrets.token_hex(6)}"

    def add(self, key: bytes, value: bytes) -> None:
        self.held.append((key, b"%s\t%s\n" % (key, value)))
        if len(self.held) >= self.limit:
            self.spill()

    def spill(self) -> list[str]:
        """Write what is held as one run; returns the names of every run written so far."""
        if self.held:
            self.held.sort()
            self.runs.append(write_run(self.folder, f"{self._name}-{len(self.runs)}", self.held))
            self.held = []
        return self.runs


def write_run(folder: Path, name: str, records: Iterable[Record]) -> str:
    """`records` (sorted) into the run `name` under `folder`; returns the name."""
    path = folder / f"{name}.run"
    try:
        folder.mkdir(exist_ok=True)
        with open(path, "wb", buffering=READ_BUFFER) as file:
            file.writelines(line for _, line in records)
    except OSError as exc:  # a full disk, in a helper too, is the build's one-line error
        raise io_error(exc, "cannot write the sorted run", path) from exc
    return path.name


def compact(folder: Path, runs: list[str]) -> list[str]:
    """At most MERGE_FAN runs holding the records of `runs`: groups merged into larger runs (and their
    inputs deleted) until few enough are left to be read at once."""
    runs = list(runs)
    level = 0
    while len(runs) > MERGE_FAN:
        merged = []
        for start in range(0, len(runs), MERGE_FAN):
            group = runs[start : start + MERGE_FAN]
            if len(group) == 1:
                merged += group
                continue
            name = f"{os.getpid()}-{secrets.token_hex(6)}-merge{level}"
            merged.append(write_run(folder, name, merge(folder, group)))
            for run in group:
                (folder / run).unlink()
        runs, level = merged, level + 1
    return runs


def merge(folder: Path, runs: list[str], held: Iterable[Record] = ()) -> Iterator[Record]:
    """Every record of `runs` (at most MERGE_FAN of them, see compact) and of `held` (sorted), in key
    order."""
    return heapq.merge(*(_read(folder / run) for run in runs), held)


def _read(path: Path) -> Iterator[Record]:
    try:
        with open(path, "rb", buffering=READ_BUFFER) as file:
            for line in file:
                yield line[: line.index(b"\t")], line
    except OSError as exc:
        raise io_error(exc, "cannot read the sorted run", path) from exc


def value_of(line: bytes) -> bytes:
    """The value of a record's line."""
    return line[line.index(b"\t") + 1 : -1]
