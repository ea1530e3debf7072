"""Manifest entries on disk (builder.release.runs, builder.release.entries), the manifest read as a stream
and build-info's diff through sorted runs: each gives what the in-memory versions give, byte for byte."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import orjson
import pytest

from builder.release import entries as entries_module
from builder.release import manifest, runs
from builder.release.diff import changes_on_disk, diff_manifests
from builder.release.entries import EntryLog, write_manifest
from builder.release.manifest import Encoded, Entry, Manifest, ManifestError

SHA = "ab" * 32


def _entries(count: int, seed: int = 1, feeds: tuple[str, ...] = ("", "feeds/a/", "feeds/b/")) -> list[Entry]:
    rng = random.Random(seed)
    made: dict[str, Entry] = {}
    while len(made) < count:
        feed, n = rng.choice(feeds), rng.randrange(count * 3)
        kind, folder = rng.choice([("route", "routes"), ("stop", "stops"), ("trip", "trips")])
        # ids holding what a stream reader could trip over: the cut `},{`, quotes, non-ASCII
        id_ = rng.choice([f"{n}", f"x{n}}},{{", f'q"{n}', f"é{n}"])
        path = f"{feed}{folder}/k{n}.json"
        sha = f"{rng.randrange(4):064x}"
        encodings = {"gzip": Encoded(path + ".gz", SHA, 7)} if rng.random() < 0.2 else None
        made[path] = Entry(path, kind, id_, sha, rng.randrange(1000), "application/json", encodings)
    made["feeds.json"] = Entry("feeds.json", "feeds", None, SHA, 3)
    return list(made.values())


def test_runs_merge_gives_every_record_in_key_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "MERGE_FAN", 3)  # several levels of merging
    rng = random.Random(7)
    records = [(f"{rng.randrange(10**6):08d}".encode(), f"v{i}".encode()) for i in range(5000)]
    writer = runs.RunWriter(tmp_path, limit=97)
    for key, value in records:
        writer.add(key, value)
    names = runs.compact(tmp_path, writer.spill())
    assert len(names) <= 3 and len(list(tmp_path.iterdir())) == len(names)
    merged = [(key, runs.value_of(line)) for key, line in runs.merge(tmp_path, names)]
    assert merged == sorted(records)


def test_entry_log_writes_the_bytes_of_the_manifest_made_whole(tmp_path: Path) -> None:
    listed = _entries(3000)
    own, task = EntryLog(tmp_path / "spool", limit=101), EntryLog(tmp_path / "spool", limit=53)
    own.extend(listed[:1000])
    task.extend(listed[1000:])
    own.adopt(task.close(), dict(task.kinds))
    digest = write_manifest(tmp_path / "manifest.json", own)
    whole = Manifest.of(listed).to_bytes()
    assert (tmp_path / "manifest.json").read_bytes() == whole
    assert digest == hashlib.sha256(whole).hexdigest()
    assert list(own.entries()) == list(Manifest.of(listed).entries)  # read again: the same runs
    assert own.documents == len(listed) and own.kinds["feeds"] == 1
    own.remove()
    assert not (tmp_path / "spool").exists()


def test_entry_log_of_no_documents_writes_an_empty_manifest(tmp_path: Path) -> None:
    write_manifest(tmp_path / "manifest.json", EntryLog(tmp_path / "spool"))
    assert (tmp_path / "manifest.json").read_bytes() == Manifest(()).to_bytes()


def test_manifest_stream_reads_what_read_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "STREAM_BLOCK", 333)  # entries cut across blocks
    listed = Manifest.of(_entries(800))
    (tmp_path / "manifest.json").write_bytes(listed.to_bytes())
    assert tuple(manifest.stream(tmp_path)) == manifest.read(tmp_path).entries
    (tmp_path / "empty.json").write_bytes(Manifest(()).to_bytes())
    assert list(manifest.stream(tmp_path / "empty.json")) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"documents": []}', "compact form"),
        (b'{"documents":[{"bytes":1', "does not end"),
        (b'{"documents":[{"bytes":1}]}', "path"),
        (b"", "compact form"),
    ],
)
def test_manifest_stream_refuses_what_it_cannot_read(tmp_path: Path, raw: bytes, message: str) -> None:
    (tmp_path / "manifest.json").write_bytes(raw)
    with pytest.raises(ManifestError, match=message):
        list(manifest.stream(tmp_path / "manifest.json"))


def test_manifest_stream_refuses_an_unsorted_manifest(tmp_path: Path) -> None:
    listed = Manifest.of(_entries(50))
    unsorted = Manifest(listed.entries[::-1])
    (tmp_path / "manifest.json").write_bytes(unsorted.to_bytes())
    with pytest.raises(ManifestError, match="unsorted"):
        list(manifest.stream(tmp_path / "manifest.json"))


@pytest.mark.parametrize("limit", [None, 5])
def test_diff_through_runs_equals_the_diff_in_memory(tmp_path: Path, limit: int | None) -> None:
    old, new = _entries(2000, seed=3), _entries(2000, seed=4)
    new += [e._replace(sha256=SHA) for e in old[:300]] + old[300:600]  # changed, then unchanged
    new = list({e.path: e for e in new}.values())
    expected = diff_manifests(Manifest.of(old), Manifest.of(new)).as_dict(limit=limit)
    found = changes_on_disk(iter(old), iter(new), tmp_path, limit=limit)
    assert orjson.dumps(found, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        expected, option=orjson.OPT_SORT_KEYS
    )
    assert list(tmp_path.iterdir()) == []  # its runs are gone


def test_entry_json_reads_back_as_the_entry() -> None:
    for entry in _entries(200):
        assert entries_module.entry_of(orjson.loads(orjson.dumps(entry.as_json()))) == entry
