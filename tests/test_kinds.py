"""The registry of document kinds and passes (builder.snapshot.kinds) and the one manifest reader/writer
(builder.release.manifest): where documents go, what they are served as, and that everything follows from it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
import pytest

from builder.errors import BuildError
from builder.models import DOCUMENT_MODELS
from builder.release import diff
from builder.release.entries import WRITE_BATCH, EntryLog, write_manifest
from builder.release.manifest import Encoded, Entry, Manifest, ManifestError, parse, read
from builder.release.output import DocumentWriter, OutputLayout
from builder.snapshot import kinds
from builder.snapshot.kinds import (
    KINDS,
    PASSES,
    DocumentKind,
    Ids,
    Named,
    Pass,
    PerDate,
    PerId,
    Single,
    href,
    kind,
)
from builder.snapshot.tasks import write_made
from tests.conftest import REPO

SHA = "ab" * 32


def test_kinds_place_documents_by_kind_and_key() -> None:
    assert href("route", "B41") == "routes/B41.json"
    assert href("stop", "a/b/../c") == "stops/!a~2fb~2f..~2fc.json"
    assert href("trip", "t 1") == "trips/!t~201.json"
    assert kind("routes").path(None) == "routes.json" and kind("feed").path(None) == "feed.json"
    assert kind("schema").path("route") == "schemas/route.schema.json"
    with pytest.raises(ValueError):
        kind("schema").path("../x")
    with pytest.raises(ValueError):
        kind("route").path(None)
    with pytest.raises(ValueError, match="no document kind"):
        kind("nope")
    assert kind("departures").path("20260308/Hbf/Gleis 1") == "departures/20260308/H!bf~2f!G!leis~201.json"
    for bad in (None, "2026-03-08/A", "20260308/", "A"):
        with pytest.raises(ValueError, match="YYYYMMDD"):
            kind("departures").path(bad)


def test_kinds_every_kind_has_a_pass_a_model_and_a_known_media_type() -> None:
    names = [k.name for k in KINDS]
    assert len(names) == len(set(names))
    passes = kinds.PASS_BY_NAME
    assert set(passes) == {p.name for p in PASSES} | {kinds.ROOT_PASS.name}
    for k in KINDS:
        assert k.name in passes[k.made_by].kinds
        assert kinds.MEDIA_TYPES[k.place.extension] == k.media_type
        if k.media_type == kinds.JSON and k.name not in ("schema", "root_schema"):
            assert k.name in DOCUMENT_MODELS, (
                f"{k.name}: JSON documents need a model (their published schema)"
            )
    # heavier first; the departure boards last, their tasks then balance what is left
    assert [p.name for p in kinds.SPLIT_PASSES] == ["routes-and-trips", "stops", "departures"]


def test_kinds_documents_under_a_feed_folder_keep_the_root_kinds_at_the_root() -> None:
    with kinds.documents_under("feeds/bx/"):
        assert href("route", "B41") == "feeds/bx/routes/B41.json"
        assert kind("departures").path("20260308/A") == "feeds/bx/departures/20260308/A.json"
        assert kind("feeds").path(None) == "feeds.json" and kind("all_routes").path(None) == "routes.json"
        with kinds.documents_under(""):
            assert href("route", "B41") == "routes/B41.json"
        assert kinds.current_prefix() == "feeds/bx/"
    assert href("route", "B41") == "routes/B41.json"
    with pytest.raises(ValueError, match="ends with '/'"), kinds.documents_under("feeds/bx"):
        pass


def test_kinds_refuse_an_inconsistent_declaration() -> None:
    with pytest.raises(ValueError, match="not application/json"):
        DocumentKind("map", "x", Single("map.html"))
    with pytest.raises(ValueError, match="need `ids`"):
        DocumentKind("board", "x", PerId("boards"))
    with pytest.raises(ValueError, match="need `ids`"):
        DocumentKind("index", "x", Single("index.json"), ids=Ids("stops", "stop_id"))
    with pytest.raises(ValueError, match="need `ids`"):
        DocumentKind("board", "x", PerDate("boards"))
    geojson = DocumentKind("map", "x", Named("maps", ".geojson"), media_type=kinds.GEOJSON)
    assert geojson.path("all") == "maps/all.geojson"


def test_kinds_staging_folders_diff_groups_and_nginx_types_follow_the_registry(tmp_path: Path) -> None:
    staging = OutputLayout(tmp_path).new_staging()
    assert {p.name for p in staging.iterdir()} == {
        "routes",
        "stops",
        "trips",
        "timetables",
        "schemas",
        "departures",
    }
    assert diff.KINDS == (
        "route",
        "trip",
        "stop",
        "timetable",
        "route_geojson",
        "departures",
        "route_page",
        "stop_page",
        "stop_week",
        "other",
    )
    block = re.search(r"\n\s*types \{([^}]*)\}", (REPO / "deploy" / "nginx.conf").read_text())
    assert block is not None, "deploy/nginx.conf has no types {} block"
    nginx = {
        f".{ext}": media
        for media, *exts in (line.rstrip(";").split() for line in block.group(1).strip().splitlines())
        for ext in exts
    }
    for extension, media_type in kinds.MEDIA_TYPES.items():
        assert nginx[extension] == media_type.split(";")[0], extension  # nginx adds the charset itself


def test_kinds_a_pass_may_only_yield_the_kinds_it_declares(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    writer = DocumentWriter(tmp_path)
    indexes = kinds.PASS_BY_NAME["indexes"]
    write_made(indexes, iter([("routes", None, {"routes": []})]), writer)
    assert writer.entries[0].path == "routes.json" and writer.entries[0].media_type == "application/json"
    with pytest.raises(BuildError, match="made a 'route' document"):
        write_made(indexes, iter([("route", "B41", {})]), writer)
    assert (
        Pass("p", "builder.snapshot.indexes:schemas").make()
        is Pass("q", "builder.snapshot.indexes:schemas").make()
    )


def test_manifest_round_trips_sorted_with_every_field(tmp_path: Path) -> None:
    gz = Encoded("routes/B41.json.gz", SHA, 9)
    entries = [
        Entry("stops.json", "stops", None, SHA, 2),
        Entry("routes/B41.json", "route", "B41", SHA, 10, "application/json", {"gzip": gz}),
    ]
    data = Manifest.of(entries).to_bytes()
    assert data == orjson.dumps(
        {
            "documents": [
                {
                    "bytes": 10,
                    "encodings": {"gzip": {"bytes": 9, "path": "routes/B41.json.gz", "sha256": SHA}},
                    "id": "B41",
                    "kind": "route",
                    "media_type": "application/json",
                    "path": "routes/B41.json",
                    "sha256": SHA,
                },
                {
                    "bytes": 2,
                    "id": None,
                    "kind": "stops",
                    "media_type": "application/json",
                    "path": "stops.json",
                    "sha256": SHA,
                },
            ]
        }
    )
    (tmp_path / "manifest.json").write_bytes(data)
    listed = read(tmp_path)
    assert listed == read(tmp_path / "manifest.json") == Manifest.of(entries)
    assert listed.files()["routes/B41.json.gz"] == (SHA, 9, "gzip", "application/json")


def test_manifest_without_media_types_reads_as_json() -> None:
    entry = {"path": "a.json", "kind": "route", "id": "a", "sha256": SHA, "bytes": 1}
    old = orjson.dumps({"documents": [entry]})
    assert parse(old, "old").entries[0].media_type == "application/json"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[", "not valid JSON"),
        (b'{"docs": []}', "no 'documents' list"),
        (
            b'{"documents": [{"path": "../x.json", "kind": "route", "id": null, "sha256": "'
            + SHA.encode()
            + b'", "bytes": 1}]}',
            "unsafe or missing path",
        ),
    ],
)
def test_manifest_refusals_name_the_manifest(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as err:
        parse(data, "/x/manifest.json")
    assert "/x/manifest.json" in str(err.value)


def test_manifest_read_of_a_missing_file_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="give a release folder or a manifest.json"):
        read(tmp_path)


def test_kinds_timetable_parts_decode_to_one_route_and_part() -> None:
    parts = kinds.kind("timetable_page")
    assert parts.path("B6#3") == "tables/B6.3.html"
    assert parts.path("B41+express#1#2") == "tables/B41~2b!express~231.2.html"
    assert parts.path("A.1#2") != kinds.kind("timetable_page").path("A#1")  # A.1.2.html, A.1.html
    assert parts.manifest_id("B6#3") is None
    for bad in ("B6", "B6#", "#3", None):
        with pytest.raises(ValueError, match="needs an id"):
            parts.path(bad)
    assert "site" not in kinds.folders() and "tables" not in kinds.folders()  # made by --site only
    # not under timetables/, where every document is a route's timetable (the timetable oracle's reading)
    assert {k.place.folder for k in KINDS if k.made_by == "site"} & {"timetables"} == set()


@pytest.mark.parametrize("count", [0, 1, WRITE_BATCH - 1, WRITE_BATCH, 2 * WRITE_BATCH + 3])
def test_manifest_written_in_chunks_is_to_bytes_and_its_hash(tmp_path: Path, count: int) -> None:
    gz = Encoded("x.gz", SHA, 9)
    entries = [
        Entry(
            f"trips/{i:05d}.json", "trip", str(i), SHA, i, "application/json", {"gzip": gz} if i % 3 else None
        )
        for i in range(count)
    ]
    listed = Manifest.of(reversed(entries))
    log = EntryLog(tmp_path / "spool")
    log.extend(reversed(entries))
    digest = write_manifest(tmp_path / "manifest.json", log)
    data = (tmp_path / "manifest.json").read_bytes()
    assert data == listed.to_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    assert parse(data, "written").entries == listed.entries
