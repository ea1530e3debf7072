"""The published folder: which release `current` points at, and its manifests."""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from serve.errors import SnapshotError
from serve.release import BUILD_ID, Release, load_release, release_directory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Health:
    release: Release  # the release requests are being served from
    problem: str | None  # why `current` is not being served, if it is not


def build_id_from_target(target: str) -> str:
    """The build id of a `current` link target of the form `releases/<build-id>`."""
    parent, _, build_id = target.rstrip("/").rpartition("/")
    if not BUILD_ID.fullmatch(build_id) or os.path.basename(parent) != "releases":
        raise SnapshotError(f"`current` points at {target!r}, expected releases/<build-id>")
    return build_id


class ReleaseStore:
    """Resolves `current` on every call and keeps the last few manifests parsed.

    Releases are immutable once published, so a manifest parsed once stays
    valid for as long as its build id is the one `current` names.
    """

    def __init__(self, *, out_dir: Path, keep: int = 2, retry_after: float = 1.0) -> None:
        self._out_dir = out_dir
        self._link = os.fspath(out_dir / "current")
        self._keep = max(keep, 1)
        self._retry_after = retry_after
        self._recent: OrderedDict[str, Release] = OrderedDict()
        self._pinned: OrderedDict[str, Release] = OrderedDict()
        self._failure: _Failure | None = None
        self._serving, self._serving_target = self._load_initial()

    def current(self) -> Release:
        """The release `current` names now; the last good one if it cannot be served."""
        try:
            target = os.readlink(self._link)
        except OSError as exc:
            self._fail(f"cannot read {self._link}: {exc.strerror or exc}", None)
            return self._serving
        if target == self._serving_target:
            return self._serving
        return self._switch(target)

    def pinned(self, build_id: str) -> Release | None:
        """A release addressed by build id, or None when it is not published."""
        release = self._recent.get(build_id) or self._pinned.get(build_id)
        if release is not None:
            return release
        if not BUILD_ID.fullmatch(build_id) or not release_directory(self._out_dir, build_id).is_dir():
            return None
        try:
            release = load_release(self._out_dir, build_id)
        except SnapshotError as exc:
            # Also the normal state of a release the builder is still writing.
            log.debug("cannot serve pinned release: %s", exc)
            return None
        _remember(self._pinned, release, self._keep)
        return release

    def health(self) -> Health:
        release = self.current()
        return Health(release, None if self._failure is None else self._failure.message)

    @property
    def cached_build_ids(self) -> tuple[str, ...]:
        return tuple(self._recent)

    def _load_initial(self) -> tuple[Release, str]:
        if not self._out_dir.is_dir():
            raise SnapshotError(
                f"snapshot folder {self._out_dir} does not exist: run `transit-snapshot build` first"
            )
        try:
            target = os.readlink(self._link)
        except FileNotFoundError:
            raise SnapshotError(
                f"no snapshot published in {self._out_dir}: run `transit-snapshot build` first"
            ) from None
        except OSError as exc:
            raise SnapshotError(f"{self._link} is not a symlink to a release: {exc.strerror}") from exc
        release = load_release(self._out_dir, build_id_from_target(target))
        _remember(self._recent, release, self._keep)
        return release, target

    def _switch(self, target: str) -> Release:
        build_id: str | None = None
        try:
            build_id = build_id_from_target(target)
            release = self._recent.get(build_id)
            if release is None:
                if self._failed_recently(build_id):
                    return self._serving
                release = load_release(self._out_dir, build_id)
        except SnapshotError as exc:
            self._fail(str(exc), build_id)
            return self._serving
        _remember(self._recent, release, self._keep)
        self._serving, self._serving_target, self._failure = release, target, None
        log.info("serving release %s", build_id)
        return release

    def _failed_recently(self, build_id: str) -> bool:
        # A broken publish would otherwise be re-parsed on every request.
        failure = self._failure
        return (
            failure is not None
            and failure.build_id == build_id
            and time.monotonic() - failure.at < self._retry_after
        )

    def _fail(self, message: str, build_id: str | None) -> None:
        if self._failure is None or self._failure.message != message:
            log.error("still serving release %s: %s", self._serving.build_id, message)
        self._failure = _Failure(message, build_id, time.monotonic())


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    build_id: str | None  # the release that failed to load, if it got that far
    at: float  # time.monotonic() of the last attempt


def _remember(releases: OrderedDict[str, Release], release: Release, keep: int) -> None:
    releases[release.build_id] = release
    releases.move_to_end(release.build_id)
    while len(releases) > keep:
        releases.popitem(last=False)
