"""Fixtures: a published snapshot folder in a temp dir, and an app and client over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from serve import create_app
from tests.serve.helpers import BASE_DOCUMENTS, SECRET, SnapshotFolder


@pytest.fixture
def snapshot(tmp_path: Path) -> SnapshotFolder:
    out = tmp_path / "out"
    (out / "releases").mkdir(parents=True)
    # Bait for traversal attempts: readable files right next to and above the snapshot.
    (tmp_path / "secret.json").write_bytes(SECRET)
    (out / "secret.json").write_bytes(SECRET)
    folder = SnapshotFolder(out=out, documents=dict(BASE_DOCUMENTS))
    folder.publish()
    return folder


@pytest.fixture
def app(snapshot: SnapshotFolder) -> Starlette:
    return create_app(out_dir=snapshot.out, max_age=60)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
