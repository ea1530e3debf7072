"""Real servers for the delivery tests: the CLI builds, `transit-snapshot serve` and nginx as processes."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SAMPLE_FEED
from tests.servers import free_port, running

CLI = str(Path(sys.executable).parent / "transit-snapshot")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


def cli(*args: str) -> str:
    done = subprocess.run([CLI, *args], check=True, capture_output=True, text=True)
    return done.stdout


def import_and_build(feed: Path, db: Path, out: Path, *extra: str) -> None:
    cli("import", str(feed), "--db", f"sqlite:///{db}")
    cli("build", "--db", f"sqlite:///{db}", "--out", str(out), "--workers", "1", *extra)


def changed_sample_feed(target: Path) -> Path:
    """The sample feed with stops renamed and MILL (which no trip visits) gone: a second database whose
    documents differ, and one of whose documents (stops/MILL.json) the first has and it lacks."""
    shutil.copytree(SAMPLE_FEED, target)
    stops = target / "stops.txt"
    lines = stops.read_text(encoding="utf-8").replace("Lakeside", "Seaside").splitlines(keepends=True)
    stops.write_text("".join(line for line in lines if not line.startswith("MILL,")), encoding="utf-8")
    return target


@contextmanager
def serving(out: Path, log: Path, *extra: str) -> Iterator[int]:
    port = free_port()
    with running([CLI, "serve", "--out", str(out), "--port", str(port), *extra], port, log):
        yield port


def fetch(
    port: int,
    target: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    conn: http.client.HTTPConnection | None = None,
) -> Reply:
    """One request, bytes exactly as sent (http.client never decodes a Content-Encoding)."""
    own = conn is None
    connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, target, headers=dict(headers or {}))
        response = connection.getresponse()
        body = response.read()
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return Reply(response.status, merged, body)
    finally:
        if own:
            connection.close()
