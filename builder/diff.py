"""What changed between two releases: documents added, removed and changed, per kind, from the manifests.

Documents with an id (route, stop, trip) are matched by id, everything else (indexes, feed.json,
schemas: kind "other") by path; "changed" means the same document with different bytes (sha256).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from builder.errors import BuildError

KINDS = ("route", "stop", "trip", "other")
BUILD_INFO_IDS = 100  # ids per kind and change listed in build-info.json; the counts are always complete


@dataclass(frozen=True)
class Changes:
    added: dict[str, list[str]]
    removed: dict[str, list[str]]
    changed: dict[str, list[str]]

    def counts(self) -> dict[str, dict[str, int]]:
        return {kind: {"added": len(self.added[kind]), "removed": len(self.removed[kind]),
                       "changed": len(self.changed[kind])} for kind in KINDS}

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts().values())

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        ids = {change: {kind: found[kind][:limit] for kind in KINDS}
               for change, found in (("added", self.added), ("removed", self.removed),
                                     ("changed", self.changed))}
        return {"counts": self.counts(), **ids}


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The manifest of a release folder, or a manifest.json file itself."""
    file = path / "manifest.json" if path.is_dir() else path
    try:
        documents = orjson.loads(file.read_bytes())["documents"]
    except FileNotFoundError:
        raise BuildError(f"no manifest at {file}: give a release folder or a manifest.json") from None
    except OSError as exc:
        raise BuildError(f"cannot read {file}: {exc.strerror or exc}") from exc
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise BuildError(f"{file} is not a snapshot manifest (no \"documents\" list)") from None
    return list(documents)


def diff_manifests(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Changes:
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


def _by_key(entries: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    keyed = {}
    for e in entries:
        kind = e["kind"] if e["kind"] in KINDS[:3] and e.get("id") is not None else "other"
        keyed[(kind, e["id"] if kind != "other" else e["path"])] = e["sha256"]
    return keyed


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
