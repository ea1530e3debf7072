"""What changed between two releases: documents added, removed and changed, per kind, from the manifests.

Documents of the registry's per-id kinds (builder.snapshot.kinds: route, stop, trip...) are matched by kind and
id, everything else (indexes, feed.json, schemas: group "other") by path; "changed" means the same
document with different bytes (sha256) or served as another media type. In a snapshot of several feeds,
where feeds may share ids, a document under `feeds/<key>/` is matched by kind, feed key and id, and
listed as `<key>:<id>` (a key never holds a colon).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from builder.feeds import FEEDS_FOLDER
from builder.release.manifest import Entry, Manifest
from builder.release.runs import RunWriter, compact, merge, value_of
from builder.snapshot.kinds import KINDS as DOCUMENT_KINDS

# Report groups: each kind with ids, then "other" for documents matched by path.
KINDS = (*(k.name for k in DOCUMENT_KINDS if k.ids is not None), "other")
BUILD_INFO_IDS = 100  # ids per kind and change listed in build-info.json; the counts are always complete


@dataclass(frozen=True)
class Changes:
    added: dict[str, list[str]]
    removed: dict[str, list[str]]
    changed: dict[str, list[str]]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "added": len(self.added[kind]),
                "removed": len(self.removed[kind]),
                "changed": len(self.changed[kind]),
            }
            for kind in KINDS
        }

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts().values())

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        ids = {
            change: {kind: found[kind][:limit] for kind in KINDS}
            for change, found in (("added", self.added), ("removed", self.removed), ("changed", self.changed))
        }
        return {"counts": self.counts(), **ids}


def diff_manifests(old: Manifest, new: Manifest) -> Changes:
    before, after = _by_key(old), _by_key(new)
    added: dict[str, list[str]] = {k: [] for k in KINDS}
    removed: dict[str, list[str]] = {k: [] for k in KINDS}
    changed: dict[str, list[str]] = {k: [] for k in KINDS}
    for key in sorted(after.keys() - before.keys()):
        added[key[0]].append(key[1])
    for key in sorted(before.keys() - after.keys()):
        removed[key[0]].append(key[1])
    for key in sorted(after.keys() & before.keys()):
        if after[key] != before[key]:
            changed[key[0]].append(key[1])
    return Changes(added, removed, changed)


def changes_on_disk(
    old: Iterable[Entry], new: Iterable[Entry], folder: Path, limit: int | None = None
) -> dict[str, Any]:
    """`diff_manifests(old, new).as_dict(limit)` without holding either side: every entry's key and
    digest go through sorted runs in `folder` (builder.release.runs), and the merge walks each key's
    old and new versions together. The counts are complete; ids are kept up to `limit` per list."""
    sorter = RunWriter(folder)
    for side, entries in ((_OLD, old), (_NEW, new)):
        for e in entries:
            kind, key = _key_of(e)
            name = f"{kind}\0{key}".encode("utf-8", "surrogatepass").hex().encode()
            sorter.add(name, b"%s%s %s" % (side, e.sha256.encode(), e.media_type.encode()))
    runs = compact(folder, sorter.spill())
    counts = {k: {"added": 0, "removed": 0, "changed": 0} for k in KINDS}
    ids: dict[str, dict[str, list[str]]] = {
        c: {k: [] for k in KINDS} for c in ("added", "removed", "changed")
    }
    try:
        for name, records in groupby(merge(folder, runs), key=itemgetter(0)):
            versions = {value[:1]: value[1:] for value in (value_of(line) for _, line in records)}
            before, after = versions.get(_OLD), versions.get(_NEW)
            change = "added" if before is None else "removed" if after is None else "changed"
            if change == "changed" and before == after:
                continue
            kind, _, key = bytes.fromhex(name.decode()).decode("utf-8", "surrogatepass").partition("\0")
            counts[kind][change] += 1
            if limit is None or len(ids[change][kind]) < limit:
                ids[change][kind].append(key)
    finally:
        for run in runs:
            (folder / run).unlink(missing_ok=True)
    return {"counts": counts, **ids}


_OLD, _NEW = b"-", b"+"


def _key_of(e: Entry) -> tuple[str, str]:
    if e.kind in _BY_ID and e.id is not None:
        return e.kind, _feed_of(e.path) + e.id
    return "other", e.path


def _by_key(listed: Manifest) -> dict[tuple[str, str], tuple[str, str]]:
    return {_key_of(e): (e.sha256, e.media_type) for e in listed.entries}


_BY_ID = frozenset(KINDS[:-1])
_FEEDS = FEEDS_FOLDER + "/"


def _feed_of(path: str) -> str:
    """`<key>:` for a document of the feed `feeds/<key>/`; "" for one of a snapshot of one feed."""
    if not path.startswith(_FEEDS):
        return ""
    return path[len(_FEEDS) :].partition("/")[0] + ":"


def render(changes: Changes) -> str:
    """The human report: a count line per kind, then the ids."""
    lines = []
    for kind, c in changes.counts().items():
        lines.append(f"{kind:<6} +{c['added']} -{c['removed']} ~{c['changed']}")
    for sign, found in (("+", changes.added), ("-", changes.removed), ("~", changes.changed)):
        for kind in KINDS:
            lines += [f"{sign} {kind} {id_}" for id_ in found[kind]]
    if not changes.total():
        lines.append("no differences")
    return "\n".join(lines)
