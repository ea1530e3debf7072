"""Publish order, retention and rollback.

OUT/history lists the build ids `current` has pointed at, oldest first, one per line; it is rewritten
atomically (temporary file, fsync, rename) so a crash leaves the old list or the new one. Output folders
from before the history existed fall back to each release's build-info.json `built_at`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import orjson

from builder.errors import BuildError
from builder.release.output import OutputLayout, fsync_dir, publish


def publish_order(layout: OutputLayout) -> list[str]:
    """Releases on disk in the order they were published, oldest first."""
    on_disk = set(layout.release_ids())
    try:
        recorded = layout.history_file.read_text().split()
    except FileNotFoundError:  # an output folder from before the history: build times tell the order
        return sorted(on_disk, key=lambda b: _built_at(layout.release(b)))
    # A release on disk but not listed was rolled back from: it is no step to roll back to.
    return [b for b in recorded if b in on_disk]


def record_publish(layout: OutputLayout, build_id: str) -> None:
    order = [b for b in publish_order(layout) if b != build_id]
    _write_history(layout, [*order, build_id])


def keep_newest(layout: OutputLayout, keep: int) -> list[str]:
    """Delete all but the newest `keep` published releases (never the current one); returns the deleted."""
    order = publish_order(layout)
    current = layout.current_build_id()
    kept = set(order[-keep:]) | {current}
    doomed = [b for b in layout.release_ids() if b not in kept]
    _write_history(layout, [b for b in order if b in kept])
    for build_id in doomed:
        # Renamed first, so a crash mid-delete never leaves a half-deleted folder under a release's name;
        # the next build removes the leftover with the stale staging.
        trash = layout.releases / f".tmp-old-{build_id}-{secrets.token_hex(4)}"
        os.rename(layout.release(build_id), trash)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed


def rollback(layout: OutputLayout) -> tuple[str, str]:
    """Point `current` at the release published before it; returns (from, to)."""
    current = layout.current_build_id()
    if current is None:
        raise BuildError(f"nothing is published in {layout.root}: no release to roll back from")
    order = publish_order(layout)
    if current not in order or order.index(current) == 0:
        raise BuildError(f"no release before {current} in {layout.releases}: nothing to roll back to")
    earlier = order[: order.index(current)]
    publish(layout, earlier[-1])
    _write_history(layout, earlier)
    return current, earlier[-1]


def _write_history(layout: OutputLayout, order: list[str]) -> None:
    tmp = layout.root / f".history-{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write("".join(f"{b}\n" for b in order))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, layout.history_file)
    fsync_dir(layout.root)


def _built_at(release: Path) -> str:
    try:
        return str(orjson.loads((release / "build-info.json").read_bytes()).get("built_at", ""))
    except (OSError, orjson.JSONDecodeError):
        return ""
