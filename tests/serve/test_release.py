from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from serve import SnapshotError
from serve.release import load_release
from tests.serve.helpers import SnapshotFolder

BUILD = "0123abcd"
SHA = "0" * 64


def write_manifest(out: Path, documents: list[dict[str, object]]) -> None:
    """Entries as given, with the kind and id a builder's entry always has unless they name their own."""
    release = out / "releases" / BUILD
    release.mkdir(parents=True)
    entries = [{"kind": "route", "id": None, **d} if isinstance(d, dict) else d for d in documents]
    (release / "manifest.json").write_bytes(orjson.dumps({"documents": entries}))


def test_release_indexes_documents_and_manifest_itself(snapshot: SnapshotFolder) -> None:
    release = load_release(snapshot.out, snapshot.build_id)
    manifest = snapshot.manifest_bytes()
    assert release.document_count == len(snapshot.documents)
    assert set(release.documents) == {*snapshot.documents, "manifest.json"}
    assert release.documents["manifest.json"].identity.etag == f'"{hashlib.sha256(manifest).hexdigest()}"'
    b41 = release.documents["routes/B41.json"]
    assert b41.br is not None and b41.br.path == "routes/B41.json.br"
    assert b41.gzip is not None and b41.gzip.encoding == "gzip"
    assert not release.documents["feed.json"].has_encodings


@pytest.mark.parametrize(
    "path",
    [
        "../x.json",
        "a/../b.json",
        "./x.json",
        "/abs.json",
        "a//b.json",
        "a\\b.json",
        "",
        "a b.json",
        "a/..",
        "é.json",
    ],
)
def test_release_rejects_unsafe_document_paths(tmp_path: Path, path: str) -> None:
    write_manifest(tmp_path, [{"path": path, "sha256": SHA, "bytes": 1}])
    with pytest.raises(SnapshotError, match="unsafe or missing path"):
        load_release(tmp_path, BUILD)


def test_release_rejects_unsafe_sidecar_paths(tmp_path: Path) -> None:
    sidecar = {"path": "../../etc/passwd", "sha256": SHA, "bytes": 1}
    write_manifest(tmp_path, [{"path": "a.json", "sha256": SHA, "bytes": 1, "encodings": {"gzip": sidecar}}])
    with pytest.raises(SnapshotError, match="unsafe"):
        load_release(tmp_path, BUILD)


@pytest.mark.parametrize("path", ["routes/B41.json.gz", "routes/B41.json.br"])
def test_release_rejects_sidecar_listed_as_document(tmp_path: Path, path: str) -> None:
    write_manifest(tmp_path, [{"path": path, "sha256": SHA, "bytes": 1}])
    with pytest.raises(SnapshotError, match="sidecar"):
        load_release(tmp_path, BUILD)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "a.json", "sha256": "xyz", "bytes": 1}, "sha256"),
        ({"path": "a.json", "sha256": '"' + SHA[1:], "bytes": 1}, "sha256"),
        ({"path": "a.json", "sha256": SHA, "bytes": -1}, "bytes"),
        ({"path": "a.json", "sha256": SHA, "bytes": True}, "bytes"),
        ({"path": "a.json", "sha256": SHA}, "bytes"),
        ({"path": "a.json", "sha256": SHA, "bytes": 1, "encodings": []}, "encodings"),
        ("a.json", "expected an object"),
    ],
)
def test_release_rejects_malformed_entries(tmp_path: Path, entry: object, message: str) -> None:
    write_manifest(tmp_path, [entry])  # type: ignore[list-item]
    with pytest.raises(SnapshotError, match=message):
        load_release(tmp_path, BUILD)


def test_release_takes_each_documents_media_type_from_its_entry(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        [
            {"path": "a.geojson", "sha256": SHA, "bytes": 1, "media_type": "application/geo+json"},
            {"path": "b.html", "sha256": SHA, "bytes": 1, "media_type": "text/html; charset=utf-8"},
            {"path": "c.json", "sha256": SHA, "bytes": 1},
        ],
    )
    documents = load_release(tmp_path, BUILD).documents
    assert documents["a.geojson"].content_type == b"application/geo+json"
    assert documents["b.html"].content_type == b"text/html; charset=utf-8"
    # manifests written before entries named their media type held JSON documents only
    assert documents["c.json"].content_type == b"application/json"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "a.json", "sha256": SHA, "bytes": 1, "kind": None}, "'kind'"),
        ({"path": "a.json", "sha256": SHA, "bytes": 1, "id": 7}, "'id'"),
        ({"path": "a.json", "sha256": SHA, "bytes": 1, "media_type": "text/html\r\nX-Evil: 1"}, "media_type"),
        ({"path": "a.json", "sha256": SHA, "bytes": 1, "media_type": ["application/json"]}, "media_type"),
    ],
)
def test_release_rejects_entries_without_kind_id_or_a_sendable_media_type(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    write_manifest(tmp_path, [entry])
    with pytest.raises(SnapshotError, match=message):
        load_release(tmp_path, BUILD)


def test_release_rejects_duplicate_paths(tmp_path: Path) -> None:
    entry = {"path": "a.json", "sha256": SHA, "bytes": 1}
    write_manifest(tmp_path, [entry, entry])
    with pytest.raises(SnapshotError, match="duplicate"):
        load_release(tmp_path, BUILD)


def test_release_rejects_manifest_without_documents(tmp_path: Path) -> None:
    (tmp_path / "releases" / BUILD).mkdir(parents=True)
    (tmp_path / "releases" / BUILD / "manifest.json").write_bytes(b'{"docs": []}')
    with pytest.raises(SnapshotError, match="no 'documents' list"):
        load_release(tmp_path, BUILD)


@pytest.mark.parametrize("build_id", ["../etc", "ABCDEF01", "0123", "0123abcd/.."])
def test_release_rejects_invalid_build_ids(tmp_path: Path, build_id: str) -> None:
    with pytest.raises(SnapshotError, match="invalid build id"):
        load_release(tmp_path, build_id)
