"""Response construction: document bodies, 304s and JSON errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from serve.release import Variant

Header = tuple[bytes, bytes]

IMMUTABLE = b"public, max-age=31536000, immutable"
NO_STORE = b"no-store"
ALLOW = "GET, HEAD"

_ACCEPT_RANGES: Header = (b"accept-ranges", b"none")
_VARY: Header = (b"vary", b"Accept-Encoding")


def revalidate(max_age: int) -> bytes:
    """Cache-Control for documents under `current`, which change on publish."""
    return b"public, max-age=%d, must-revalidate" % max_age


@dataclass(frozen=True, slots=True)
class Body:
    """File bytes plus every header of a 200 except Cache-Control.

    Cache-Control is added per request because the same bytes are served both
    under `current` (revalidate) and pinned to their release (immutable).
    """

    content: bytes
    headers: tuple[Header, ...]


def make_body(content: bytes, variant: Variant, content_type: bytes, *, vary: bool) -> Body:
    """`content_type`: the media type the manifest lists for the document (its sidecars share it)."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", b"%d" % len(content)),
        (b"etag", variant.etag.encode("ascii")),
        _ACCEPT_RANGES,
    ]
    if variant.encoding is not None:
        headers.append((b"content-encoding", variant.encoding.encode("ascii")))
    if vary:
        headers.append(_VARY)
    return Body(content, tuple(headers))


class RawResponse(Response):
    """A Response whose header list is already built: skips Starlette's header encoding."""

    def __init__(self, status_code: int, content: bytes, raw_headers: list[Header]) -> None:
        self.status_code = status_code
        self.body = content
        self.background = None
        self.raw_headers = raw_headers


def document_response(body: Body, cache_control: bytes, *, head: bool) -> RawResponse:
    # HEAD keeps the Content-Length of the GET it stands for.
    headers = [*body.headers, (b"cache-control", cache_control)]
    return RawResponse(200, b"" if head else body.content, headers)


def not_modified(variant: Variant, cache_control: bytes, *, vary: bool) -> RawResponse:
    headers = [(b"etag", variant.etag.encode("ascii")), (b"cache-control", cache_control)]
    if vary:
        headers.append(_VARY)
    return RawResponse(304, b"", headers)


def json_response(
    status_code: int, payload: Mapping[str, object], *, headers: Mapping[str, str] | None = None
) -> Response:
    extra = {"Cache-Control": NO_STORE.decode(), **(headers or {})}
    return Response(orjson.dumps(payload), status_code, extra, media_type="application/json")


def not_found(path: str) -> Response:
    # Servers that decode with surrogateescape hand us strings orjson refuses.
    printable = path.encode("utf-8", "backslashreplace").decode("utf-8")
    return json_response(404, {"error": "not found", "path": printable})


def method_not_allowed(method: str) -> Response:
    return json_response(
        405, {"error": "method not allowed", "method": method, "allow": ALLOW}, headers={"Allow": ALLOW}
    )
