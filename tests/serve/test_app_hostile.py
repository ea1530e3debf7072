"""Hostile request paths: always a 4xx, never a 5xx, never a byte from outside the snapshot."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.serve.helpers import SECRET, SnapshotFolder, asgi_request

# (decoded ASGI `path`, raw request-target bytes); {build} and {out} are filled in per test.
HOSTILE: list[tuple[str, str]] = [
    ("/../secret.json", "/../secret.json"),
    ("/../../secret.json", "/../../secret.json"),
    ("/current/../secret.json", "/current/../secret.json"),
    ("/../secret.json", "/%2e%2e/secret.json"),
    ("/../secret.json", "/%2E%2E/secret.json"),
    ("/%2e%2e/secret.json", "/%252e%252e/secret.json"),
    ("/..%2fsecret.json", "/..%252fsecret.json"),
    ("/routes/../../secret.json", "/routes/%2e%2e/%2e%2e/secret.json"),
    ("/releases/{build}/../../secret.json", "/releases/{build}/%2e%2e/%2e%2e/secret.json"),
    ("/releases/../secret.json", "/releases/../secret.json"),
    ("/releases/{build}/routes/../../../../secret.json", "/releases/{build}/routes/../../../../secret.json"),
    ("/releases/{build}//{out}/secret.json", "/releases/{build}//{out}/secret.json"),
    ("/routes/B41.json\x00", "/routes/B41.json%00"),
    ("/secret.json\x00.json", "/secret.json%00.json"),
    ("/\x00", "/%00"),
    ("/..\\secret.json", "/..%5csecret.json"),
    ("/routes\\B41.json", "/routes%5cB41.json"),
    ("//etc/passwd", "//etc/passwd"),
    ("/{out}/secret.json", "/{out}/secret.json"),
    ("/\\\\server\\share", "/%5c%5cserver%5cshare"),
    ("//server/share/secret.json", "//server/share/secret.json"),
    ("/secret.json", "/secret.json"),  # exists in OUT, but no manifest lists it
    ("/build-info.json", "/build-info.json"),
    ("/current", "/current"),
    ("/current/feed.json", "/current/feed.json"),
    ("/releases", "/releases"),
    ("/routes/B41.json/", "/routes/B41.json/"),
    ("/routes/\nB41.json", "/routes/%0aB41.json"),
    ("/routes/B41.json\r\n", "/routes/B41.json%0d%0a"),
    ("/\ufffd\ufffd", "/%ff%fe"),  # invalid UTF-8, as uvicorn decodes it
    ("/\udcff\udcfe", "/%ff%fe"),  # invalid UTF-8, as a surrogateescape server would decode it
    ("/" + "a" * 5000, "/" + "a" * 5000),
    ("/" + "../" * 2000 + "secret.json", "/" + "../" * 2000 + "secret.json"),
    ("", ""),
    ("relative.json", "relative.json"),
    ("xfeed.json", "xfeed.json"),  # no leading slash: must not alias /feed.json
    ("xreleases/{build}/feed.json", "xreleases/{build}/feed.json"),
]


def _fill(template: str, snapshot: SnapshotFolder) -> str:
    return template.replace("{build}", snapshot.build_id).replace("{out}", str(snapshot.out).lstrip("/"))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("path", "raw"), HOSTILE, ids=[raw[:40] for _, raw in HOSTILE])
def test_app_never_serves_outside_snapshot(
    app: Starlette, snapshot: SnapshotFolder, path: str, raw: str, method: str
) -> None:
    result = asgi_request(app, _fill(path, snapshot), raw_path=_fill(raw, snapshot).encode(), method=method)
    assert result.status in (404, 414)
    assert SECRET not in result.body
    assert result.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "url",
    [
        "/%2e%2e/secret.json",
        "/%252e%252e/secret.json",
        "/routes/B41.json%00",
        "/..%5csecret.json",
        "/%ff%fe",
        "/a" * 2500,
        "/releases/{build}/%2e%2e/%2e%2e/secret.json",
    ],
)
def test_app_never_serves_outside_snapshot_through_http_client(
    client: TestClient, snapshot: SnapshotFolder, url: str
) -> None:
    response = client.get(_fill(url, snapshot))
    assert 400 <= response.status_code < 500
    assert SECRET not in response.content


def test_app_echoes_hostile_path_in_404_as_valid_json(app: Starlette) -> None:
    result = asgi_request(app, '/\udcff\x00"<script>', raw_path=b"/%ff%00%22%3cscript%3e")
    assert result.status == 404
    assert json.loads(result.body)["error"] == "not found"
