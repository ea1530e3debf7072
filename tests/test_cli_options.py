"""Every option and argument of every command, given a bad value, is refused in one line, never a traceback.

The cases come from the Click group itself: each parameter's type names its bad values (BAD_VALUES, or
the bounds of an IntRange), so a new option is swept as soon as it exists, and an option whose type has
no entry fails here until it gets one. Each case runs the real `transit-snapshot` in a subprocess,
everything else on its command line valid (a published snapshot of the sample feed).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from builder import options
from builder.cli import cli
from builder.importer.run import import_feed
from tests.conftest import REPO, SAMPLE_FEED
from tests.test_cli import CLI

# Placeholders, filled in per test: {file} an existing regular file, {dir} an existing empty folder,
# {missing} a path that does not exist.
PATHS_UNDER_A_FILE = "{file}/sub"
BAD_VALUES: dict[type[click.ParamType], list[str]] = {
    options.DatabaseURL: [
        "not a url",
        "nosuchdb://u@localhost/x",
        "postgresql+nosuchdriver://u@localhost/x",
        "postgresql://u@127.0.0.1:99999/x",
        "mysql://u@127.0.0.1/x",
        "postgresql+pg8000://u@127.0.0.1/x",
        "postgresql://nobody@127.0.0.1:1/nothing",
        "sqlite:///{missing}/gtfs.sqlite",
        "sqlite:///{file}",
    ],
    options.Codings: ["zip", "gzip,zip", "gzip;br"],
    options.ServiceDate: ["2026-03-28", "20260231", "2026032", "tomorrow"],
    options.S3Location: ["http://bucket/prefix", "s3://", "bucket/prefix", "s3:///prefix"],
    options.HttpURL: ["not a url", "ftp://127.0.0.1:9000", "http://127.0.0.1:99999", "http://"],
    options.Host: ["no.such.host.invalid", "256.256.256.256"],
    options.FeedId: ["Bronx", "bus/bronx", "-x", "", "con", "a" * 51, "../x", "bus bronx"],
}
# What only one parameter can get wrong, beyond its type's values.
EXTRA_BAD_VALUES: dict[tuple[str, str], list[str]] = {
    ("bundle", "to"): ["{dir}/snapshot.rar"],
}
SKIPPED_TYPES = (click.types.BoolParamType,)  # flags: there is no bad value to give
RUN_SECONDS = 60


@dataclass(frozen=True)
class Case:
    command: str
    param: str  # its name in the command's signature
    value: str  # may hold placeholders

    def __str__(self) -> str:
        return f"{self.command}-{self.param}={self.value}"


def path_values(param: click.Parameter, kind: click.Path) -> list[str]:
    values = [PATHS_UNDER_A_FILE]
    if kind.exists or isinstance(param, click.Argument):  # something to read: nothing there, or not that
        return values + ["{missing}", "{file}", "{dir}"]
    if not kind.file_okay:
        values.append("{file}")
    if not kind.dir_okay:
        values.append("{dir}")
    return values


def int_values(kind: click.IntRange) -> list[str]:
    values = ["abc", "1.5"]
    if kind.min is not None:
        values.append(str(kind.min - 1 if not kind.min_open else kind.min))
    if kind.max is not None:
        values.append(str(kind.max + 1 if not kind.max_open else kind.max))
    return values


def float_values(kind: click.FloatRange) -> list[str]:
    values = ["abc", "nan", "inf"]
    if kind.min is not None:
        values.append(repr(kind.min - 0.5 if not kind.min_open else kind.min))
    if kind.max is not None:
        values.append(repr(kind.max + 0.5 if not kind.max_open else kind.max))
    return values


def bad_values(command: str, param: click.Parameter) -> list[str]:
    kind = param.type
    if isinstance(kind, click.IntRange):
        values = int_values(kind)
    elif isinstance(kind, click.FloatRange):
        values = float_values(kind)
    elif isinstance(kind, click.Path):
        values = path_values(param, kind)
    elif isinstance(kind, click.Choice):
        values = ["no-such-choice"]
    elif type(kind) in BAD_VALUES:
        values = BAD_VALUES[type(kind)]
    else:
        pytest.fail(
            f"{command} {param.name}: no bad values known for its type {kind!r}; give it a specific "
            "click type (an IntRange, a FloatRange, a Path, a Choice or one of builder.options) and list its "
            "bad values in BAD_VALUES"
        )
    return values + EXTRA_BAD_VALUES.get((command, str(param.name)), [])


def cases() -> Iterator[Case]:
    for name, command in sorted(cli.commands.items()):
        for param in command.params:
            if isinstance(param.type, SKIPPED_TYPES) or getattr(param, "is_flag", False):
                continue
            for value in bad_values(name, param):
                yield Case(name, str(param.name), value)


def documented_statuses() -> set[int]:
    """The statuses the README's exit-status table lists."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit statuses", 1)[1].split("\n\n", 2)[1]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}


@dataclass(frozen=True)
class World:
    """Valid values for every parameter: a database and a snapshot published from it."""

    root: Path
    db_url: str
    out: Path

    def valid(self) -> dict[str, dict[str, str]]:
        release = str(self.out / "current")
        return {
            "import": {"feed": str(SAMPLE_FEED), "db_url": f"sqlite:///{self.root / 'new.sqlite'}"},
            "build": {"db_url": self.db_url, "out_dir": str(self.root / "built")},
            "rollback": {"out_dir": str(self.out)},
            "diff": {"old": release, "new": release},
            "bundle": {"out_dir": str(self.out), "to": str(self.root / "snapshot.zip")},
            "verify": {"path": release},
            "serve": {"out_dir": str(self.out), "port": str(free_port())},
            "publish": {
                "out_dir": str(self.out),
                "to": "s3://bucket/prefix",
                "endpoint_url": f"http://127.0.0.1:{free_port()}",
            },
        }

    def fill(self, value: str) -> str:
        return value.format(
            file=self.root / "regular-file", dir=self.root / "empty-folder", missing=self.root / "missing"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("world")
    db_url = f"sqlite:///{root / 'gtfs.sqlite'}"
    import_feed(SAMPLE_FEED, db_url=db_url)
    out = root / "output"
    built = subprocess.run(
        [CLI, "build", "--db", db_url, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (root / "regular-file").write_text("not what any option wants\n")
    (root / "empty-folder").mkdir()
    return World(root, db_url, out)


def command_line(command: click.Command, values: dict[str, str]) -> list[str]:
    argv = [command.name or ""]
    for param in command.params:
        if param.name not in values:
            continue
        if isinstance(param, click.Argument):
            argv.append(values[param.name])
        else:
            argv += [param.opts[0], values[param.name]]
    return argv


def mentions(line: str, value: str) -> bool:
    """Whether an error line names the value: whole, or a URL's scheme (the driver it needs) or file."""
    scheme, sep, rest = value.partition("://")
    return value in line or (
        bool(sep) and (f"{scheme}://" in line or (scheme == "sqlite" and rest[1:] in line))
    )


def error_lines(stderr: str) -> list[str]:
    """stderr less Click's usage lines and the indented problem lines a refusal may list."""
    return [
        line for line in stderr.splitlines() if line.strip() and not line.startswith(("Usage:", "Try '", " "))
    ]


@pytest.mark.parametrize("case", list(cases()), ids=str)
def test_cli_refuses_a_bad_option_value_in_one_line(case: Case, world: World) -> None:
    command = cli.commands[case.command]
    param = next(p for p in command.params if p.name == case.param)
    value = world.fill(case.value)
    values = {**world.valid()[case.command], case.param: value}
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_COLOR": "1",
    }
    env.pop("TRANSIT_SNAPSHOT_DB", None)
    try:
        done = subprocess.run(
            [CLI, *command_line(command, values)],
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
            env=env,
            cwd=world.root,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.command} accepted {param.opts[0]} {value!r} and kept running")
    shown = f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, shown
    assert done.returncode != 0 and done.returncode in documented_statuses(), shown
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and lines[0].lower().startswith("error:"), shown
    assert (
        mentions(lines[0], value)
        or any(opt in lines[0] for opt in param.opts)
        or (isinstance(param, click.Argument) and param.human_readable_name in lines[0])
    ), shown
    assert done.stdout == "", shown
