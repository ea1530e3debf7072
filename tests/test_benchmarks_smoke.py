"""The benchmark's --smoke pass on a tiny feed, so `python -m tests.benchmarks` cannot rot unnoticed.

Timings are not checked (CI machines are noisy); that every program ran and the ratios were printed is.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks import nyfeeds
from tests.benchmarks.measure import Sample
from tests.benchmarks.site_bench import Measured, page_phases, resolved
from tests.conftest import FEEDS, REPO, SHARED

BASELINES = SHARED / "baselines"
needs_shared = pytest.mark.skipif(
    not (BASELINES.is_dir() and FEEDS.is_dir()),
    reason=f"the baselines and feeds are not beside the repo ({BASELINES.parent})",
)
needs_servers = pytest.mark.skipif(
    not (shutil.which("wrk") and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists())),
    reason="wrk and nginx are not installed (scripts/setup-system installs them)",
)
needs_package = pytest.mark.skipif(
    not (nyfeeds.cache_dir() / nyfeeds.VERSION / nyfeeds.JSON_ZIP).exists(),
    reason=f"{nyfeeds.PACKAGE} is not fetched (scripts/ny-feeds --fetch-only fetches it)",
)
needs_fastapi = pytest.mark.skipif(
    importlib.util.find_spec("fastapi") is None,
    reason="the baselines need fastapi: pip install -e '.[bench]'",
)


def smoke(command: str, work: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", command, "--smoke", "--work", str(work)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_shared
@needs_fastapi
def test_benchmarks_build_smoke_prints_ratios(tmp_path: Path) -> None:
    out = smoke("build", tmp_path)
    assert "ratio ours/floor: wall " in out
    assert "ratio naive/ours: wall " in out
    assert "| ours " in out and "| floor " in out and "| naive " in out
    assert "our peak RSS against feed size" in out


@needs_shared
def test_benchmarks_site_smoke_prints_the_page_phase(tmp_path: Path) -> None:
    out = smoke("site", tmp_path)
    assert "| program " in out and "| user s " in out and "| ours: build --site " in out
    assert re.search(
        r"page phase \(build --site - build of the same run, median over runs\): -?[\d.]+ s wall "
        r"\(runs: -?[\d.]+; difference of the medians: -?[\d.]+\), -?[\d.]+ s cpu, -?[\d.]+ s user",
        out,
    )
    # with gtfs-to-html installed (scripts/setup-gtfs-to-html) the ratios, without it the reason
    assert "gtfs-to-html / ours: end to end " in out or "gtfs-to-html not measured: " in out
    assert re.search(r"our largest page: [\d.]+ MB .*, within the 2 MB limit", out)


@needs_shared
@needs_fastapi
@needs_servers
def test_benchmarks_serve_smoke_prints_ratios_to_nginx(tmp_path: Path) -> None:
    out = smoke("serve", tmp_path)
    for url_set in ("A", "B"):
        for server in ("ours (serve)", "ours, no cache", "static_app.py", "dynamic_app.py"):
            assert f"ratio {server}/nginx on {url_set}: req/s " in out
    for url_set in ("fits", "overflow"):
        assert f"ratio ours (serve)/nginx on {url_set}: req/s " in out
    assert "ratio overflow/fits for ours (serve): req/s " in out
    assert "ratio overflow/fits for nginx: req/s " in out


@needs_shared
@needs_package
def test_benchmarks_region_smoke_builds_two_feeds_in_one_snapshot(tmp_path: Path) -> None:
    """LIRR (converted from the package) and caltrain, alone and together: the oracle finds no mismatch
    in either folder and each folder equals its single-feed build (the run fails otherwise)."""
    out = smoke("region", tmp_path)
    assert "| lirr " in out and "| caltrain " in out and "| sum (RSS: max) " in out
    assert "ratio all 2 in one snapshot/sum of single-feed builds: build wall " in out
    assert "peak RSS of all 2 in one snapshot: imports " in out
    for feed in ("lirr", "caltrain"):
        assert f"feeds/{feed}/ against the single-feed build of {feed}: " in out
    assert out.count("all equal but for the folder in paths and hrefs") == 2


def site_runs(*walls: float) -> Measured:
    """A program's runs for the site report: cpu 1.5x wall (two processes), user as wall."""
    return Measured([Sample(wall=w, cpu=w * 1.5, rss_mb=100, user=w) for w in walls])


def test_benchmarks_site_page_phase_lost_in_noise_gives_no_ratio() -> None:
    theirs = site_runs(70.0)
    # mta_bus_brooklyn, 2026-12-08: build --site less build of the same run, 13.1, -0.7 and -1.8 s
    noisy = {"build": site_runs(40.0, 45.0, 46.0), "build --site": site_runs(53.1, 44.3, 44.2)}
    walls = page_phases(noisy, "wall")
    assert [round(w, 1) for w in walls] == [13.1, -0.7, -1.8]
    assert (
        resolved(theirs, (-0.7, -1.05, -0.7), walls)
        == "not resolved (each run's difference: 13.1, -0.7, -1.8 s)"
    )
    steady = {"build": site_runs(40.0, 41.0, 42.0), "build --site": site_runs(43.5, 44.5, 45.5)}
    assert [round(w, 1) for w in page_phases(steady, "wall")] == [3.5, 3.5, 3.5]
    assert resolved(theirs, (3.5, 5.25, 3.5), [3.5, 3.5, 3.5]) == "20.0x faster (cpu 20.0x, user 20.0x)"


def test_benchmarks_site_page_phase_with_a_run_at_zero_is_uncertain() -> None:
    # mta_bus_brooklyn, 2026-12-08 02:24-02:35: differences 1.4, 7.3 and -0.0 s, median 1.4 s
    mixed = {"build": site_runs(36.0, 38.0, 40.0), "build --site": site_runs(37.4, 45.3, 40.0)}
    walls = page_phases(mixed, "wall")
    assert [round(w, 1) for w in walls] == [1.4, 7.3, 0.0]
    assert resolved(site_runs(59.0), (1.4, 2.1, 1.4), walls) == (
        "42.1x faster (cpu 42.1x, user 42.1x), uncertain: a run's difference was at or below zero "
        "(each run's: 1.4, 7.3, 0.0 s)"
    )
