"""Publishing under load: real builds of two databases keep swapping `current` while clients read."""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
from pathlib import Path

from builder.build import BuildSettings, build
from builder.importer.run import import_feed
from tests.conftest import SAMPLE_FEED
from tests.delivery.conftest import load_entries
from tests.delivery.servers import changed_sample_feed, fetch, serving

CLIENTS = 4
SECONDS = 4.0  # at least this long, and at least MIN_SWAPS publishes, but never past HARD_LIMIT
MIN_SWAPS = 4
HARD_LIMIT = 30.0
PATHS = ["routes.json", "stops.json", "feed.json", "routes/B41.json", "stops/HBF.json", "manifest.json"]
CODINGS = {"identity": None, "gzip": "gzip", "br": "br"}


def allowed_hashes(releases: list[Path]) -> dict[tuple[str, str], set[str]]:
    """(path, accept-encoding) -> every sha256 a response may carry: one release's bytes, never a mix."""
    allowed: dict[tuple[str, str], set[str]] = {}
    for release in releases:
        entries = load_entries(release)
        for path in PATHS:
            for accept, coding in CODINGS.items():
                if path == "manifest.json":
                    sha = hashlib.sha256((release / path).read_bytes()).hexdigest()
                else:
                    entry = entries[path]
                    sha = entry.sha256 if coding is None else (entry.encodings or {})[coding].sha256
                allowed.setdefault((path, accept), set()).add(sha)
    return allowed


def test_serve_publish_under_load_never_fails_truncates_or_mixes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    changed = tmp_path / "changed"
    changed_sample_feed(changed)
    settings = []
    for name, feed in (("a", SAMPLE_FEED), ("b", changed)):
        url = f"sqlite:///{tmp_path / name}.sqlite"
        import_feed(feed, db_url=url)
        settings.append(BuildSettings(db_url=url, out_dir=out, workers=1, compress=("br", "gzip")))
    releases = [build(s).release for s in settings]
    assert releases[0] != releases[1]
    allowed = allowed_hashes(releases)

    failures: list[str] = []
    counts = [0] * CLIENTS
    stop = threading.Event()

    def client(index: int, port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while not stop.is_set():
            path = PATHS[n % len(PATHS)]
            accept = list(CODINGS)[(n // len(PATHS) + index) % len(CODINGS)]
            n += 1
            try:
                reply = fetch(port, f"/{path}", {"Accept-Encoding": accept}, conn=conn)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"{path} {accept}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            sha = hashlib.sha256(reply.body).hexdigest()
            if (
                reply.status != 200
                or sha not in allowed[(path, accept)]
                or reply.headers["etag"] != f'"{sha}"'
            ):
                failures.append(
                    f"{path} {accept}: {reply.status} {len(reply.body)} bytes, etag "
                    f"{reply.headers.get('etag')}, body sha {sha}"
                )
            counts[index] += 1
        conn.close()

    swaps = 0
    with serving(out, tmp_path / "serve.log") as port:
        threads = [threading.Thread(target=client, args=(i, port)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            while (
                not failures
                and time.monotonic() - started < HARD_LIMIT
                and (time.monotonic() - started < SECONDS or swaps < MIN_SWAPS)
            ):
                result = build(settings[swaps % 2])  # a real rebuild; publishing swaps `current` back
                assert result.published
                swaps += 1
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
    print(f"{swaps} publishes, {sum(counts)} requests")
    assert not failures, failures[:5]
    assert swaps >= MIN_SWAPS, "too few publishes happened to test anything"
    assert all(n > 20 for n in counts), counts
