"""Planning and running tasks: weights read once per column, and the site's passes open no database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builder.build import BuildSettings, build
from builder.errors import BuildError
from builder.importer.run import import_feed
from builder.site.reader import Release
from builder.snapshot.calendars import Window
from builder.snapshot.kinds import OPTIONAL_PASSES, PASS_BY_NAME, SPLIT_PASSES, kind
from builder.snapshot.pinning import PinnedDatabase
from builder.snapshot.tasks import Task, TaskSetup, Weighing, prepare_pass, read_weights, run_task
from tests.conftest import SAMPLE_FEED, SAMPLE_WINDOW


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    db = tmp_path / "gtfs.sqlite"
    import_feed(SAMPLE_FEED, db_url=f"sqlite:///{db}")
    return db


def test_weighing_reads_each_column_once(sample_db: Path, tmp_path: Path) -> None:
    weighing = Weighing(PinnedDatabase(f"sqlite:///{sample_db}", "file"))
    documents = weighing.of(SPLIT_PASSES)
    assert documents == read_weights(PinnedDatabase(f"sqlite:///{sample_db}", "file"), SPLIT_PASSES)
    # the site's passes are cut by columns the documents' were: nothing is read again, so the
    # weights come back with the database gone
    sample_db.rename(tmp_path / "gone.sqlite")
    site = weighing.of(OPTIONAL_PASSES)
    assert site == {"site": documents["routes-and-trips"], "site-stops": documents["departures"]}
    assert documents["routes-and-trips"] and documents["departures"]
    with pytest.raises(BuildError):  # a column not read yet is read from the database
        Weighing(weighing.database).of(SPLIT_PASSES)


def test_site_task_opens_no_database(sample_db: Path, tmp_path: Path) -> None:
    release = build(
        BuildSettings(
            db_url=f"sqlite:///{sample_db}",
            out_dir=tmp_path / "out",
            departures_from=SAMPLE_WINDOW[0],
            departures_days=SAMPLE_WINDOW[1],
            site=True,
        )
    ).release
    staging = tmp_path / "staging"
    shutil.copytree(release, staging)
    for page in staging.glob("stops/*.html"):
        page.unlink()
    missing = tmp_path / "no-such.sqlite"
    setup = TaskSetup(PinnedDatabase(f"sqlite:///{missing}", "file"), staging, Window(*SAMPLE_WINDOW))
    assert not PASS_BY_NAME["site-stops"].reads_database
    result = run_task(Task("site-stops"), setup, prepare_pass("site-stops", setup))
    stops = Release(staging).read(kind("stops").path(None))["stops"]
    assert result.documents == len(stops) > 0 and not result.problems
    pages = sorted((release / "stops").glob("*.html"))
    assert sorted(p.name for p in staging.glob("stops/*.html")) == [p.name for p in pages]
    for page in pages:  # the same pages as the build's
        assert (staging / "stops" / page.name).read_bytes() == page.read_bytes()
    assert not missing.exists()  # not even opened: SQLite would have created it
