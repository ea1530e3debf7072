"""A database URL whose driver is not installed: one line saying what to install, from every command.

The real CLI runs in a subprocess where the PostgreSQL drivers cannot be imported (an import hook
raises the ModuleNotFoundError a missing package gives), as on a machine where `pip install .` was run
without the `postgres` extra.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from builder.cli import cli
from tests.conftest import SAMPLE_FEED

HIDDEN = ("psycopg", "psycopg2")
WITHOUT_DRIVERS = f"""
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {HIDDEN!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
from builder.cli import main
sys.argv[0] = "transit-snapshot"
main()
"""
EXTRA = "pip install 'transit-snapshot[postgres]'"
DB_COMMANDS = sorted(
    name for name, command in cli.commands.items() if any(param.name == "db_url" for param in command.params)
)
ARGUMENTS = {"import": [str(SAMPLE_FEED)]}  # what else a command needs on its command line


def without_drivers(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DRIVERS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", DB_COMMANDS)
@pytest.mark.parametrize(
    "url, driver",
    [
        ("postgresql://gtfs@localhost/gtfs", "psycopg"),
        ("postgresql+psycopg://gtfs@localhost/gtfs", "psycopg"),
        ("postgresql+psycopg2://gtfs@localhost/gtfs", "psycopg2"),
    ],
)
def test_drivers_missing_one_is_one_line_naming_the_extra(command: str, url: str, driver: str) -> None:
    done = without_drivers(command, *ARGUMENTS.get(command, []), "--db", url)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    scheme = url.split("://")[0]
    assert done.stderr.startswith(
        f"error: the PostgreSQL driver {driver} (for {scheme}://) cannot be "
        f"imported (No module named '{driver}'): "
    ), done.stderr
    assert EXTRA in done.stderr


def test_drivers_missing_one_is_read_from_the_environment_too() -> None:
    """TRANSIT_SNAPSHOT_DB is --db by another name: the same line."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_DRIVERS, "build"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"TRANSIT_SNAPSHOT_DB": "postgresql://gtfs@localhost/gtfs", "PATH": "/usr/bin"},
    )
    assert done.returncode == 4 and len(done.stderr.splitlines()) == 1, done.stderr
    assert EXTRA in done.stderr
