"""One end-to-end check through a real uvicorn socket, with raw request-targets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from serve import create_app
from serve.app import server_options
from tests.serve.helpers import SECRET, SnapshotFolder, sha256

# Request-targets no HTTP client library would send as-is.
HOSTILE_TARGETS = [
    b"../../etc/passwd",
    b"../secret.json",
    b"/../secret.json",
    b"/../../secret.json",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/%2e%2e/secret.json",
    b"/%252e%252e/secret.json",
    b"/..%5csecret.json",
    b"/..\\secret.json",
    b"secret.json",
    b"xfeed.json",  # h11 hands this to the app as is; it must not alias /feed.json
    b"//etc/passwd",
    b"/%5c%5cserver%5cshare",
    b"/routes/B41.json%00",
    b"/%ff%fe",
    b"/\xff\xfe",
    b"http://evil.example/../../secret.json",
    b"*",
    b"/" + b"a" * 5000,
]


@pytest.fixture(params=["httptools", "h11"])
def server_port(request: pytest.FixtureRequest, snapshot: SnapshotFolder) -> Iterator[int]:
    app = create_app(out_dir=snapshot.out)
    options = server_options(http=request.param, lifespan="off", log_level="critical")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def exchange(port: int, target: bytes, *headers: bytes) -> tuple[int, bytes]:
    """Send one raw request; return (status, whole response) — status 0 if the server just hung up."""
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    if not response:
        return 0, response
    return int(response.split(b" ", 2)[1]), response


def test_uvicorn_serves_snapshot_and_refuses_hostile_targets(
    server_port: int, snapshot: SnapshotFolder
) -> None:
    feed = snapshot.documents["feed.json"]
    status, response = exchange(server_port, b"/feed.json")
    assert status == 200
    head, _, body = response.partition(b"\r\n\r\n")
    assert body == feed
    assert f'etag: "{sha256(feed)}"'.encode() in head.lower()
    assert b"server:" not in head.lower()

    status, response = exchange(server_port, b"/feed.json", f'If-None-Match: W/"{sha256(feed)}"'.encode())
    assert status == 304
    assert response.endswith(b"\r\n\r\n")

    for target in HOSTILE_TARGETS:
        status, response = exchange(server_port, target)
        assert 400 <= status < 500, (target[:60], response[:200])
        assert SECRET not in response
        assert b"root:" not in response
