"""A sharded build's staging folder: what each shard leaves there, and the merge's checks of it.

    DIR/
      shard-<I>-of-<N>.<attempt>/        one run of `build --shard I/N --staging DIR`
        routes/…  stops/…  …             its documents, at their release paths
        manifest-part.json               its manifest entries (the manifest's format, sorted by path)
        shard.json                       its completion record: written last, after everything above
                                         is on disk, so a shard without one is half-written; with the
                                         feeds' registry rows for a database of several feeds

Each run writes a folder of its own (a retried pod never writes over the files of the run it
replaces). `read_shards` hands the merge the one complete run of each shard 0..N-1, or refuses in one
line: a shard missing, there twice, half-written (no record, or a part whose hash is not the record's),
or shards whose plans differ (another N, another database state, other settings).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from builder.errors import ShardError
from builder.feeds import FeedRecord
from builder.release import manifest
from builder.release.manifest import Entry, Manifest
from builder.release.output import fsync_dir, sync_filesystem

FORMAT = 1
RECORD = "shard.json"
PART = "manifest-part.json"
NAME = re.compile(r"shard-(\d+)-of-(\d+)\.([0-9a-f]+)")
MAX_SHARDS = 10_000


def new_attempt(staging: Path, shard: int, shards: int) -> Path:
    """A fresh folder for one run of shard `shard` of `shards`."""
    staging.mkdir(parents=True, exist_ok=True)
    folder = staging / f"shard-{shard}-of-{shards}.{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def complete(folder: Path, entries: list[Entry], record: dict[str, Any]) -> dict[str, Any]:
    """Write the shard's manifest part, make every file durable, then its completion record (renamed
    into place, so it is whole or absent). Returns the record."""
    part = Manifest.of(entries).to_bytes()
    (folder / PART).write_bytes(part)
    full = {
        **record,
        "format": FORMAT,
        "documents": len(entries),
        "bytes": sum(f[2] for e in entries for f in e.files()),
        "part_sha256": hashlib.sha256(part).hexdigest(),
    }
    sync_filesystem(folder)
    temporary = folder / f".{RECORD}.tmp"
    with open(temporary, "wb") as file:
        file.write(orjson.dumps(full, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
        file.flush()
        os.fsync(file.fileno())
    os.rename(temporary, folder / RECORD)
    fsync_dir(folder)
    return full


@dataclass(frozen=True)
class Shard:
    """One complete run of one shard, as the merge reads it."""

    folder: Path
    index: int
    record: dict[str, Any]
    entries: tuple[Entry, ...]


def read_shards(staging: Path) -> list[Shard]:
    """Shards 0..N-1 of one plan, each there exactly once and complete; or ShardError naming every
    problem found."""
    runs = _runs(staging)
    records = {folder: _record(folder) for folder, _, _ in runs}
    done = [(folder, index, shards) for folder, index, shards in runs if records[folder] is not None]
    _same_plan(staging, [(folder, records[folder]) for folder, _, _ in done])
    shards = done[0][2] if done else max(n for _, _, n in runs)
    problems, found = [], []
    for index in range(shards):
        finished = [f for f, i, _ in done if i == index]
        started = [f.name for f, i, _ in runs if i == index and records[f] is None]
        if len(finished) > 1:
            problems.append(
                f"shard {index} of {shards} is there {len(finished)} times "
                f"({', '.join(sorted(f.name for f in finished))}): remove all but one"
            )
        elif not finished and started:
            problems.append(
                f"shard {index} of {shards} is half-written ({', '.join(sorted(started))} has no completion "
                "record: its run died or is still running)"
            )
        elif not finished:
            problems.append(f"shard {index} of {shards} is missing")
        else:
            shard = _checked(finished[0], index, records[finished[0]] or {}, problems)
            if shard is not None:
                found.append(shard)
    if problems:
        raise ShardError(f"cannot merge {staging}: {'; '.join(problems)}; nothing was published")
    return found


def _runs(staging: Path) -> list[tuple[Path, int, int]]:
    try:
        names = sorted(p for p in staging.iterdir() if p.is_dir())
    except FileNotFoundError:
        raise ShardError(f"cannot merge {staging}: no such folder") from None
    except OSError as exc:
        raise ShardError(f"cannot merge {staging}: {exc.strerror or exc}") from exc
    runs = []
    for path in names:
        match = NAME.fullmatch(path.name)
        if match and int(match[1]) < int(match[2]) <= MAX_SHARDS:
            runs.append((path, int(match[1]), int(match[2])))
    if not runs:
        raise ShardError(
            f"cannot merge {staging}: it holds no shard (the shard-I-of-N.* folders that "
            f"`build --shard I/N --staging {staging}` writes)"
        )
    return runs


def _record(folder: Path) -> dict[str, Any] | None:
    """The completion record, or None when there is none (or only part of one) yet."""
    try:
        record = orjson.loads((folder / RECORD).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _same_plan(staging: Path, done: list[tuple[Path, dict[str, Any] | None]]) -> None:
    """Every complete shard planned from the same database state, shard count and settings."""
    plans: dict[tuple[Any, Any], list[str]] = {}
    for folder, record in done:
        assert record is not None
        plans.setdefault((record.get("shards"), record.get("plan")), []).append(folder.name)
    if len(plans) > 1:
        shown = "; ".join(
            f"{', '.join(names)}: {shards} shards, plan {str(plan)[:12]}"
            for (shards, plan), names in sorted(plans.items(), key=lambda p: sorted(p[1]))
        )
        raise ShardError(
            f"cannot merge {staging}: its shards were made from different database states, shard counts "
            f"or settings ({shown}); run every shard again against one database state; nothing was published"
        )


def _checked(folder: Path, index: int, record: dict[str, Any], problems: list[str]) -> Shard | None:
    """The shard's manifest part, if it is the one its record describes."""
    shards = record.get("shards")
    if record.get("format") != FORMAT or record.get("shard") != index:
        problems.append(f"{folder.name}: its completion record is not a shard {index} of {shards} record")
        return None
    try:
        part = (folder / PART).read_bytes()
    except OSError as exc:
        problems.append(f"shard {index} of {shards} is half-written ({PART}: {exc.strerror})")
        return None
    if hashlib.sha256(part).hexdigest() != record.get("part_sha256"):
        problems.append(f"shard {index} of {shards} is half-written ({PART} is not the one its record lists)")
        return None
    entries = manifest.parse(part, str(folder / PART)).entries
    if len(entries) != record.get("documents"):
        problems.append(f"shard {index} of {shards}: {len(entries)} documents, its record says otherwise")
        return None
    return Shard(folder, index, record, entries)


def described_feeds(feeds: tuple[FeedRecord, ...]) -> list[list[str]] | None:
    """The feeds imported with --feed, as a completion record lists them (None: one unnamed feed)."""
    if not feeds:
        return None
    return [[f.feed_id, f.key, f.location, f.imported_at] for f in feeds]


def feeds_of(staging: Path, shards: list[Shard]) -> tuple[FeedRecord, ...]:
    """The feeds the shards' records list (the same in each: their plan's fingerprint covers them), for
    the root documents of several feeds; () for one unnamed feed."""
    rows = shards[0].record.get("feeds")
    same = all(s.record.get("feeds") == rows for s in shards)
    if same and rows is None:
        return ()
    if not (
        same
        and isinstance(rows, list)
        and all(isinstance(r, list) and len(r) == 4 and all(isinstance(v, str) for v in r) for r in rows)
    ):
        raise ShardError(
            f"cannot merge {staging}: its shards' completion records list different or damaged feeds; "
            "run every shard again against one database state; nothing was published"
        )
    return tuple(FeedRecord(*row) for row in rows)
