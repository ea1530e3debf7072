"""The command line as cron and people meet it: output per mode, and every command documented."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from builder.importer.run import import_feed
from tests.conftest import REPO, SAMPLE_FEED

CLI = str(Path(sys.executable).parent / "transit-snapshot")
SUMMARY = re.compile(
    r"^build [0-9a-f]{16} (published|unchanged \(already published\)): .*\d+ route.* MB in "
    r"[\d.]+ s -> "
)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sample.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=url)
    return url


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def test_build_off_a_terminal_prints_only_the_summary(db_url: str, tmp_path: Path) -> None:
    first = run("build", "--db", db_url, "--out", tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    assert len(first.stdout.splitlines()) == 1 and SUMMARY.match(first.stdout)
    again = run("build", "--db", db_url, "--out", tmp_path)
    assert again.returncode == 0 and "unchanged (already published)" in again.stdout


def test_build_quiet_prints_nothing(db_url: str, tmp_path: Path) -> None:
    quiet = run("build", "--db", db_url, "--out", tmp_path, "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_build_verbose_logs_each_phase_with_timing(db_url: str, tmp_path: Path) -> None:
    verbose = run("build", "--db", db_url, "--out", tmp_path, "--verbose")
    assert verbose.returncode == 0 and SUMMARY.match(verbose.stdout)
    for phase in ("check", "documents", "indexes", "sync", "publish"):
        assert re.search(rf"^{phase}: done in [\d.]+ s", verbose.stderr, re.MULTILINE), verbose.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--departures-from", "2026-03-28", "'2026-03-28' is not a date YYYYMMDD"),
        ("--departures-from", "20260231", "'20260231' is not a date YYYYMMDD"),
        ("--departures-days", "-1", "-1 is not in the range 0<=x<=366"),
        ("--departures-days", "week", "'week' is not a valid integer"),
    ],
)
def test_build_bad_departure_window_is_refused_naming_the_option(
    db_url: str, tmp_path: Path, option: str, value: str, message: str
) -> None:
    bad = run("build", "--db", db_url, "--out", tmp_path, option, value)
    assert bad.returncode == 2 and f"Invalid value for '{option}': {message}" in bad.stderr
    assert not (tmp_path / "current").exists()


def test_build_departures_default_to_a_week_from_today(db_url: str, tmp_path: Path) -> None:
    assert run("build", "--db", db_url, "--out", tmp_path, "--quiet").returncode == 0
    window = json.loads((tmp_path / "current" / "feed.json").read_bytes())["departures"]
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()  # the sample feed's agencies' zone
    assert window["days"] == 7 and window["from"] in {
        f"{d:%Y%m%d}" for d in (today, today - timedelta(days=1))
    }
    assert len(list((tmp_path / "current" / "departures").iterdir())) == 7


def test_build_on_a_terminal_shows_progress_bars(db_url: str, tmp_path: Path) -> None:
    main, terminal = os.openpty()
    proc = subprocess.Popen(
        [
            CLI,
            "build",
            "--db",
            db_url,
            "--out",
            str(tmp_path),
            "--departures-from",
            "20260328",
            "--departures-days",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(terminal)
    screen = b""
    while select.select([main], [], [], 60)[0]:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the build closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    stdout = proc.communicate(timeout=60)[0].decode()
    os.close(main)
    assert proc.returncode == 0 and SUMMARY.match(stdout)
    shown = screen.decode(errors="replace")
    # 6 routes (a tree, a timetable and a map each), 13 trips, 16 stops, and 16 stops x 2 dates of boards
    assert "documents" in shown and "━" in shown and "79/79" in shown, shown[-2000:]


def commands() -> list[str]:
    """The command list of `transit-snapshot --help`."""
    text = run("--help").stdout
    listed = text.split("Commands:", 1)[1]
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def test_cli_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    found = commands()
    assert {"build", "import", "serve", "rollback", "diff", "bundle", "verify"} <= set(found)
    missing = [c for c in found if f"`transit-snapshot {c}" not in readme]
    assert not missing, f"commands without a README entry: {missing}"


def test_cli_every_command_help_has_an_example() -> None:
    without = [c for c in commands() if f"transit-snapshot {c} " not in run(c, "--help").stdout]
    assert not without, f"commands whose --help shows no example: {without}"
