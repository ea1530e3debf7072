"""A build's manifest entries, kept on disk as they are made: one line of manifest JSON per document in
sorted runs (builder.release.runs) under the staging folder's `.entries/`, merged when manifest.json is
written. A build of a whole region (324k documents) held ~480 bytes per entry in memory until the end;
now it holds at most a run's worth per process, whatever the number of documents.

Whoever writes documents (the build process, a forked helper, a Dask worker, a shard) adds each entry
to its EntryLog; a task hands back the names of its runs and its counts per kind (TaskResult), and the
build adopts them into its own log. Nothing per document crosses a pipe or the network.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from builder.release import runs
from builder.release.manifest import Encoded, Entry

FOLDER = ".entries"  # under the staging folder; removed before the release is sealed
WRITE_BATCH = 4096  # entries joined into one write of manifest.json


class EntryLog:
    """The manifest entries of the documents one writer wrote, with their count per kind.

    With a `folder`, entries are spilled there as sorted runs; without one (a writer in a test, a
    benchmark's scratch writer) they are held in memory."""

    def __init__(self, folder: Path | None = None, limit: int = runs.RUN_RECORDS) -> None:
        self.folder = folder
        self.kinds: Counter[str] = Counter()
        self._runs = runs.RunWriter(folder or Path(), limit if folder is not None else 1 << 62)
        self._adopted: list[str] = []

    @classmethod
    def under(cls, staging: Path) -> EntryLog:
        return cls(staging / FOLDER)

    @property
    def documents(self) -> int:
        return sum(self.kinds.values())

    def add(self, entry: Entry) -> None:
        self.kinds[entry.kind] += 1
        self._runs.add(entry.path.encode(), orjson.dumps(entry.as_json(), option=orjson.OPT_SORT_KEYS))

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add(entry)

    def close(self) -> list[str]:
        """Everything held written as a run (with a folder); the names of this log's own runs."""
        if self.folder is None:
            return []
        return list(self._runs.spill())

    def adopt(self, names: Iterable[str], kinds: dict[str, int]) -> None:
        """Runs another log wrote into the same folder (a task's), and its counts."""
        self._adopted += names
        self.kinds.update(kinds)

    def lines(self) -> Iterator[bytes]:
        """Every entry's manifest JSON, sorted by path. Runs are first merged down to MERGE_FAN, so
        calling this again reads the same runs."""
        if self.folder is None:
            return (runs.value_of(line) for _, line in sorted(self._runs.held))
        merged = runs.compact(self.folder, self._adopted + self.close())
        self._adopted, self._runs.runs = merged, []
        return (runs.value_of(line) for _, line in runs.merge(self.folder, merged))

    def entries(self) -> Iterator[Entry]:
        """Every entry, sorted by path."""
        return (entry_of(orjson.loads(line)) for line in self.lines())

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def entry_of(item: dict[str, Any]) -> Entry:
    """An Entry from the JSON this module wrote (trusted: it is the build's own)."""
    codings = item.get("encodings")
    encodings = None if codings is None else {c: Encoded(**sidecar) for c, sidecar in codings.items()}
    return Entry(
        item["path"], item["kind"], item["id"], item["sha256"], item["bytes"], item["media_type"], encodings
    )


def write_manifest(path: Path, log: EntryLog) -> str:
    """manifest.json from the log, WRITE_BATCH entries per write; returns its sha256. The bytes are
    Manifest.of(entries).to_bytes(): orjson writes a list of objects as their JSON joined by commas."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for piece in _pieces(log.lines()):
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def _pieces(lines: Iterator[bytes]) -> Iterator[bytes]:
    yield b'{"documents":['  # with no documents, head and tail are the `{"documents":[]}` of to_bytes()
    for index, batch in enumerate(_batches(lines)):
        yield (b"," if index else b"") + b",".join(batch)
    yield b"]}"


def _batches(lines: Iterator[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) == WRITE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
