"""A snapshot of the sample feed built by the real builder with `--compress gzip,br --site`, shared
read-only: the website's pages are delivered like the documents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.release.manifest import Entry, read
from tests.conftest import SAMPLE_FEED
from tests.delivery.servers import import_and_build


@dataclass(frozen=True)
class Built:
    out: Path
    release: Path  # the resolved release `current` points at
    entries: dict[str, Entry]  # manifest entries by path

    @property
    def build_id(self) -> str:
        return self.release.name


def load_entries(release: Path) -> dict[str, Entry]:
    return read(release).by_path()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("delivery")
    out = root / "out"
    import_and_build(SAMPLE_FEED, root / "sample.sqlite", out, "--compress", "gzip,br", "--site")
    release = (out / "current").resolve()
    return Built(out, release, load_entries(release))
