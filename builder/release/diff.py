"""What changed between two releases: documents added, removed and changed, per kind, from the manifests.

Documents of the registry's per-id kinds (builder.snapshot.kinds: route, stop, trip...) are matched by kind and
id, everything else (indexes, feed.json, schemas: group "other") by path; "changed" means the same
document with different bytes (sha256) or served as another media type. In a snapshot of several feeds,
where feeds may share ids, a document under `feeds/<key>/` is matched by kind, feed key and id, and
listed as `<key>:<id>` (a key never holds a colon).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builder.feeds import FEEDS_FOLDER
from builder.release.manifest import Manifest
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


def _by_key(listed: Manifest) -> dict[tuple[str, str], tuple[str, str]]:
    keyed = {}
    for e in listed.entries:
        if e.kind in _BY_ID and e.id is not None:
            keyed[(e.kind, _feed_of(e.path) + e.id)] = (e.sha256, e.media_type)
        else:
            keyed[("other", e.path)] = (e.sha256, e.media_type)
    return keyed


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
