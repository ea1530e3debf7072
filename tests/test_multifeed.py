"""Several feeds in one database and one snapshot (`import --feed ID`, builder.feeds): each feed's documents
under feeds/<key>/ exactly as its own build writes them but for that folder, the root's feeds.json and
indexes across feeds, colliding ids kept apart, one feed re-imported without touching the others; on
SQLite and PostgreSQL, from real feeds."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.build import BuildResult, BuildSettings, build
from builder.cli import cli
from builder.errors import DatabaseError, FeedError
from builder.feeds import REGISTRY_TABLE
from builder.importer.run import import_feed
from builder.release.diff import diff_manifests
from builder.release.manifest import read
from builder.release.output import OutputLayout
from builder.snapshot.pinning import pin_database
from tests.conftest import (
    DEPARTURES_ORACLE,
    FEEDS,
    ORACLE,
    TIMETABLE_ORACLE,
    assert_oracle_agrees,
    needs_feeds,
)
from tests.snapshot_checks import check_against_models, check_hashes_and_hrefs, manifest

pytestmark = needs_feeds
CALTRAIN, GOOGLE = FEEDS / "caltrain.zip", FEEDS / "google_sample.zip"
WINDOW = (date(2016, 5, 28), 2)  # caltrain's; google_sample's boards are then empty, but written


def _build(url: str, out: Path, *, site: bool = False, workers: int = 2) -> BuildResult:
    first, days = WINDOW
    return build(
        BuildSettings(url, out, workers=workers, site=site, departures_from=first, departures_days=days)
    )


def _three_feeds(url: str) -> None:
    """caltrain, and google_sample twice: g1 and g2 share every route, stop and trip id."""
    for feed, feed_id in ((CALTRAIN, "caltrain"), (GOOGLE, "g1"), (GOOGLE, "g-2")):
        import_feed(feed, db_url=url, feed_id=feed_id)


def _single(tmp_path: Path, feed: Path, *, site: bool = False) -> Path:
    url = f"sqlite:///{tmp_path / feed.stem}.sqlite"
    import_feed(feed, db_url=url)
    return _build(url, tmp_path / f"single-{feed.stem}", site=site).release


def _same_but_for_the_folder(single: Path, several: Path, key: str) -> int:
    """Every document of the feed's own build is under feeds/<key>/ with the same kind and id and the
    same bytes once the folder is taken out of its hrefs (and of its pages' links); nothing else is."""
    prefix = f"feeds/{key}/"
    alone = {e.path: e for e in manifest(single)}
    beside = {e.path[len(prefix) :]: e for e in manifest(several) if e.path.startswith(prefix)}
    assert alone.keys() == beside.keys()
    for path, entry in alone.items():
        assert (entry.kind, entry.id, entry.media_type) == (
            beside[path].kind,
            beside[path].id,
            beside[path].media_type,
        )
        data = (several / prefix / path).read_bytes()
        if path.endswith(".html"):
            data = data.replace(f"../../../{prefix}".encode(), b"../").replace(
                f"../../{prefix}".encode(), b""
            )
        else:
            data = data.replace(f'"{prefix}'.encode(), b'"')
        assert data == (single / path).read_bytes(), path
    return len(alone)


def _oracle(script: Path, feed: Path, release: Path, key: str, *, under: bool) -> None:
    if not script.is_file():
        pytest.skip(f"the oracle is not beside the repo ({script} is absent)")
    assert_oracle_agrees(script, feed, release, *(["--under", f"feeds/{key}/"] if under else []))


def test_multifeed_import_puts_each_feed_in_a_file_of_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    with sqlite3.connect(tmp_path / "region.sqlite") as db:
        rows = db.execute(f"SELECT feed_id, feed_key, location FROM {REGISTRY_TABLE} ORDER BY 1").fetchall()
        assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'stops'").fetchall()
    assert rows == [
        ("caltrain", "caltrain", "caltrain.sqlite"),
        ("g-2", "g-2", "g-2.sqlite"),
        ("g1", "g1", "g1.sqlite"),
    ]
    with sqlite3.connect(tmp_path / "region.sqlite.feeds" / "caltrain.sqlite") as db:
        assert db.execute("SELECT count(*) FROM stops").fetchone() == (95,)


def test_multifeed_import_refuses_to_mix_named_and_unnamed_feeds(tmp_path: Path) -> None:
    named, unnamed = f"sqlite:///{tmp_path / 'named.sqlite'}", f"sqlite:///{tmp_path / 'unnamed.sqlite'}"
    import_feed(GOOGLE, db_url=named, feed_id="g1")
    import_feed(GOOGLE, db_url=unnamed)
    with pytest.raises(DatabaseError, match=r"holds feeds imported with --feed \(g1\)"):
        import_feed(GOOGLE, db_url=named)
    with pytest.raises(DatabaseError, match="holds a feed imported without --feed"):
        import_feed(GOOGLE, db_url=unnamed, feed_id="g1")
    assert not (tmp_path / "unnamed.sqlite.feeds" / "g1.sqlite").exists()
    run = CliRunner().invoke(cli, ["import", str(GOOGLE), "--db", named, "--feed", "Bad/Id"])
    assert run.exit_code == 2 and "Invalid value for '--feed'" in run.output


def test_multifeed_build_writes_each_feed_as_its_own_build_under_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    release = _build(url, tmp_path / "out").release
    assert _same_but_for_the_folder(_single(tmp_path, CALTRAIN), release, "caltrain") > 500
    google = _single(tmp_path, GOOGLE)
    for key in ("g1", "g-2"):  # the same ids twice: neither merged nor overwritten
        assert _same_but_for_the_folder(google, release, key) > 20
    check_hashes_and_hrefs(release)
    entries = manifest(release)
    check_against_models(release, entries)
    outside = sorted(e.path for e in entries if not e.path.startswith("feeds/"))
    assert outside == [
        "feeds.json",
        "routes.json",
        "schemas/all_routes.schema.json",
        "schemas/all_stops.schema.json",
        "schemas/feeds.schema.json",
        "schemas/manifest.schema.json",
        "stops.json",
    ]
    assert sorted(p.name for p in release.iterdir()) == [
        "build-info.json",
        "feeds",
        "feeds.json",
        "manifest.json",
        "routes.json",
        "schemas",
        "stops.json",
    ]
    feeds = json.loads((release / "feeds.json").read_bytes())["feeds"]
    assert [(f["feed_id"], f["href"], f["counts"]["stops"]) for f in feeds] == [
        ("caltrain", "feeds/caltrain/feed.json", 95),
        ("g-2", "feeds/g-2/feed.json", 9),
        ("g1", "feeds/g1/feed.json", 9),
    ]
    assert feeds[2]["links"]["routes"] == "feeds/g1/routes.json"
    assert feeds[2]["agencies"][0]["agency_name"] == "Demo Transit Authority"
    routes = json.loads((release / "routes.json").read_bytes())["routes"]
    ab = [(r["feed"], r["href"], r["timetable"]) for r in routes if r["route_id"] == "AB"]
    assert ab == [
        ("g-2", "feeds/g-2/routes/AB.json", "feeds/g-2/timetables/AB.json"),
        ("g1", "feeds/g1/routes/AB.json", "feeds/g1/timetables/AB.json"),
    ]
    stops = json.loads((release / "stops.json").read_bytes())["stops"]
    assert len(stops) == 95 + 9 + 9 and {s["feed"] for s in stops} == {"caltrain", "g1", "g-2"}


def test_multifeed_each_feed_passes_the_oracles_under_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    release = _build(url, tmp_path / "out").release
    for feed, key in ((CALTRAIN, "caltrain"), (GOOGLE, "g1"), (GOOGLE, "g-2")):
        _oracle(ORACLE, feed, release, key, under=True)
        _oracle(TIMETABLE_ORACLE, feed, release, key, under=True)
    # departures_oracle.py takes no --under: it checks the feed's own build, whose documents the
    # feed's folder holds byte for byte but for the folder in hrefs
    single = _single(tmp_path, CALTRAIN)
    _oracle(DEPARTURES_ORACLE, CALTRAIN, single, "caltrain", under=False)
    assert _same_but_for_the_folder(single, release, "caltrain") > 500


def test_multifeed_a_broken_feed_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    with sqlite3.connect(tmp_path / "region.sqlite.feeds" / "g1.sqlite") as db:
        db.execute("UPDATE trips SET route_id = 'GONE' WHERE trip_id = 'AB1'")
    with pytest.raises(FeedError, match=r"feed g1: the database breaks rules") as refused:
        _build(url, tmp_path / "out")
    assert refused.value.problems == ["trips: route_id 'GONE' not in routes"]
    assert not (tmp_path / "out" / "current").exists()


def test_multifeed_reimporting_one_feed_changes_only_its_documents_and_the_root(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    before = _build(url, tmp_path / "out").release
    assert _build(url, tmp_path / "out").published is False  # nothing changed: the same release
    import_feed(CALTRAIN, db_url=url, feed_id="g1")  # another feed under the id g1
    after = _build(url, tmp_path / "out").release
    old, new = read(before).by_path(), read(after).by_path()
    touched = {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}
    assert touched and all(
        p.startswith("feeds/g1/") for p in touched - {"feeds.json", "routes.json", "stops.json"}
    )
    assert {"feeds.json", "routes.json", "stops.json"} <= touched
    changes = diff_manifests(read(before), read(after))
    assert "g1:AB" in changes.removed["route"] and "g1:ct_local_20160404" not in changes.changed["route"]
    assert all(i.startswith("g1:") for found in changes.as_dict()["added"].values() for i in found)
    run = CliRunner().invoke(cli, ["diff", str(before), str(after)])
    assert run.exit_code == 0 and "- route g1:AB" in run.output and " g-2:" not in run.output


def test_multifeed_site_links_resolve_in_every_feed_and_the_root(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    release = _build(url, tmp_path / "out", site=True).release
    assert _same_but_for_the_folder(_single(tmp_path, GOOGLE, site=True), release, "g1") > 20
    pages = sorted(release.rglob("*.html"))
    assert release / "index.html" in pages and release / "feeds" / "g-2" / "index.html" in pages
    for page in pages:
        for link in re.findall(rb'(?:href|src)="([^"#:]+)"', page.read_bytes()):
            target = (page.parent / link.decode()).resolve()
            assert target.is_file() and target.is_relative_to(release.resolve()), (page, link)
    search = (release / "feeds" / "g1" / "site" / "search_index.js").read_text()
    assert '"stops/' in search and "feeds/" not in search  # from the feed's index page


def test_multifeed_pin_keeps_every_feed_as_the_build_started(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(url)
    with pin_database(url, OutputLayout(tmp_path / "out").new_scratch) as pin:
        assert pin.several and [f.record.feed_id for f in pin.feeds if f.record] == ["caltrain", "g-2", "g1"]
        assert {f.database.how for f in pin.feeds} == {"file"}
        import_feed(CALTRAIN, db_url=url, feed_id="g1")  # renamed over g1's file
        g1 = pin.feeds[2].database.source()
        with g1.connect() as conn:
            assert g1.count(conn, "stops") == 9  # still the google_sample the build started from
        g1.engine.dispose()
        pin.ensure_unchanged()


def test_multifeed_postgres_builds_the_same_release_as_sqlite(tmp_path: Path, pg_url: str) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    _three_feeds(sqlite_url)
    _three_feeds(pg_url)
    on_sqlite = _build(sqlite_url, tmp_path / "sqlite")
    on_postgres = _build(pg_url, tmp_path / "postgres")
    assert on_postgres.build_id == on_sqlite.build_id
    with pin_database(pg_url, lambda: tmp_path) as pin:
        assert {f.database.how for f in pin.feeds} == {"snapshot"} and len(pin.feeds) == 3
        # an import of one feed waits for the build, whose locks cover every feed's tables
        importing = threading.Thread(
            target=import_feed, args=(CALTRAIN,), kwargs={"db_url": pg_url, "feed_id": "g1"}
        )
        importing.start()
        importing.join(timeout=3)
        assert importing.is_alive()
        g1 = pin.feeds[2].database.source()
        with g1.connect() as conn:
            assert g1.count(conn, "stops") == 9
        g1.engine.dispose()
        pin.ensure_unchanged()
    importing.join(timeout=120)
    assert not importing.is_alive()
    import_feed(CALTRAIN, db_url=sqlite_url, feed_id="g1")
    again = _build(pg_url, tmp_path / "postgres")
    assert again.build_id == _build(sqlite_url, tmp_path / "sqlite").build_id != on_postgres.build_id
    with pytest.raises(DatabaseError, match="holds feeds imported with --feed"):
        import_feed(GOOGLE, db_url=pg_url)
