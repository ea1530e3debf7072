"""deploy/nginx.conf on real nginx (Debian's package) over a real build: the same bytes and important
headers as `transit-snapshot serve`, document by document."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.delivery.conftest import Built
from tests.delivery.servers import Reply, fetch, free_port, running, serving
from tests.serve.helpers import point_current, write_release
from tests.snapshot_checks import MEDIA_TYPES

NGINX = Path("/usr/sbin/nginx")
TEMPLATE = REPO / "deploy" / "nginx.conf"
TEMPLATE_ROOT = "/srv/transit-snapshot/output"
TEMPLATE_LISTEN = "127.0.0.1:8080"
PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
# Headers both servers must agree on; ETag is nginx's own "<mtime>-<size>" (see deploy/nginx.conf).
SAME = ("content-type", "content-length", "content-encoding", "cache-control", "vary", "accept-ranges")

pytestmark = pytest.mark.skipif(
    not NGINX.exists(),
    reason=f"nginx is not installed ({NGINX} is absent; apt-get install nginx, or run scripts/setup-system)",
)

MAIN_CONF = """\
# Runs as root in the test only: pytest's temporary folders are private to their owner.
user root;
worker_processes 1;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/server.conf;
}}
"""


def render(template: str, out: Path, port: int) -> str:
    assert TEMPLATE_ROOT in template and TEMPLATE_LISTEN in template, "the template's placeholders moved"
    return template.replace(TEMPLATE_ROOT, os.fspath(out)).replace(TEMPLATE_LISTEN, f"127.0.0.1:{port}")


@contextmanager
def nginx_and_serve(out: Path, prefix: Path) -> Iterator[tuple[int, int]]:
    """(nginx port, serve port), both over the output folder `out`."""
    port = free_port()
    (prefix / "server.conf").write_text(render(TEMPLATE.read_text(), out, port))
    (prefix / "nginx.conf").write_text(MAIN_CONF.format(prefix=prefix))
    command = [
        os.fspath(NGINX),
        "-p",
        os.fspath(prefix),
        "-c",
        os.fspath(prefix / "nginx.conf"),
        "-g",
        "daemon off;",
    ]
    with running(command, port, prefix / "stderr.log"), serving(out, prefix / "serve.log") as serve_port:
        yield port, serve_port


@pytest.fixture(scope="module")
def ports(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    with nginx_and_serve(built.out, tmp_path_factory.mktemp("nginx")) as both_ports:
        yield both_ports


def both(
    ports: tuple[int, int], target: str, headers: dict[str, str], method: str = "GET"
) -> tuple[Reply, Reply]:
    nginx_port, serve_port = ports
    return fetch(nginx_port, target, headers, method), fetch(serve_port, target, headers, method)


def sample(built: Built) -> list[str]:
    paths = sorted(built.entries)
    maps = ["stops.geojson", "routes/F1.geojson", "timetables/F1.json"]  # every media type the build writes
    return ["manifest.json", *maps, *paths[:: max(1, len(paths) // 15)]]


def assert_same(nginx: Reply, serve: Reply, what: str) -> None:
    assert (nginx.status, nginx.body) == (serve.status, serve.body), what
    for name in SAME:
        assert nginx.headers.get(name) == serve.headers.get(name), (what, name)


def test_nginx_returns_the_same_bytes_and_headers_as_serve(ports: tuple[int, int], built: Built) -> None:
    for path in sample(built):
        nginx, serve = both(ports, f"/{path}", PLAIN)
        assert nginx.status == 200 and nginx.body == (built.release / path).read_bytes(), path
        assert nginx.headers["content-type"] == MEDIA_TYPES["." + path.rsplit(".", 1)[-1]], path
        assert_same(nginx, serve, path)


def test_nginx_sends_the_same_gzip_sidecar_as_serve(ports: tuple[int, int], built: Built) -> None:
    for path in sample(built):
        if path == "manifest.json":
            continue
        nginx, serve = both(ports, f"/{path}", GZIP)
        assert nginx.headers.get("content-encoding") == "gzip", path
        assert nginx.body == (built.release / (built.entries[path].encodings or {})["gzip"].path).read_bytes()
        assert_same(nginx, serve, path)


def test_nginx_pinned_release_urls_match_serve(ports: tuple[int, int], built: Built) -> None:
    for path in sample(built)[:4]:
        nginx, serve = both(ports, f"/releases/{built.build_id}/{path}", PLAIN)
        assert nginx.status == 200
        assert_same(nginx, serve, path)


def test_nginx_not_found_body_matches_serve(ports: tuple[int, int], built: Built) -> None:
    for target in (
        "/routes/NOPE.json",
        "/routes/B41.json.gz",
        "/routes.json.br",
        "/build-info.json",
        "/routes/",
        f"/releases/{built.build_id}/",
        f"/releases/{built.build_id}/routes.json.gz",
        "/releases/nope/feed.json",
    ):
        nginx, serve = both(ports, target, GZIP)
        assert nginx.status == 404, target
        assert_same(nginx, serve, target)


def test_nginx_answers_root_with_the_home_page_like_serve(ports: tuple[int, int], built: Built) -> None:
    for headers in (PLAIN, GZIP):
        nginx, serve = both(ports, "/", headers)
        assert nginx.status == 200
        assert nginx.headers["content-type"] == "text/html; charset=utf-8"
        assert_same(nginx, serve, "/")
    assert fetch(ports[1], "/", PLAIN).body == (built.release / "index.html").read_bytes()


def test_nginx_sends_the_site_media_types_like_serve(ports: tuple[int, int], built: Built) -> None:
    for path, media_type in (
        ("routes/B41.html", "text/html; charset=utf-8"),
        ("site/site.css", "text/css; charset=utf-8"),
        ("site/site.js", "text/javascript; charset=utf-8"),
        ("routes/B41.json", "application/json"),
    ):
        for headers in (PLAIN, GZIP):
            nginx, serve = both(ports, f"/{path}", headers)
            assert nginx.headers["content-type"] == media_type, path
            assert_same(nginx, serve, path)


def test_nginx_refuses_other_methods_like_serve(ports: tuple[int, int]) -> None:
    for method in ("POST", "PUT", "DELETE"):
        nginx, serve = both(ports, "/routes.json", PLAIN, method)
        assert nginx.status == 405
        assert nginx.headers["allow"] == serve.headers["allow"] == "GET, HEAD"
        assert nginx.body == serve.body


def test_nginx_answers_its_own_etag_with_304(ports: tuple[int, int]) -> None:
    nginx_port, _ = ports
    first = fetch(nginx_port, "/routes.json", PLAIN)
    again = fetch(nginx_port, "/routes.json", {**PLAIN, "If-None-Match": first.headers["etag"]})
    assert again.status == 304
    assert again.headers["cache-control"] == first.headers["cache-control"]


def test_nginx_sends_each_kinds_media_type_like_serve(tmp_path: Path) -> None:
    """GeoJSON and HTML documents (kinds to come) get the media types their manifest entries name."""
    out = tmp_path / "out"
    documents = {
        "routes/B41.geojson": b'{"type":"FeatureCollection","features":[]}',
        "timetables/B41.html": b"<!doctype html><title>B41</title>",
        "routes.json": b"{}",
    }
    write_release(out, "0123abcd", documents, encoded=documents)
    point_current(out, "0123abcd")
    (tmp_path / "nginx").mkdir()
    with nginx_and_serve(out, tmp_path / "nginx") as both_ports:
        for path, media_type in (
            ("routes/B41.geojson", "application/geo+json"),
            ("timetables/B41.html", "text/html; charset=utf-8"),
            ("routes.json", "application/json"),
        ):
            for headers in (PLAIN, GZIP):
                nginx, serve = both(both_ports, f"/{path}", headers)
                assert nginx.headers["content-type"] == media_type, (path, headers)
                assert_same(nginx, serve, path)
        nginx, serve = both(both_ports, "/timetables/NOPE.html", PLAIN)
        assert nginx.status == 404 and nginx.headers["content-type"] == "application/json"
        assert_same(nginx, serve, "404 of an .html path")


def test_nginx_ignores_range_like_serve(ports: tuple[int, int]) -> None:
    nginx, serve = both(ports, "/feed.json", {**PLAIN, "Range": "bytes=0-3"})
    assert nginx.status == 200
    assert_same(nginx, serve, "range")
