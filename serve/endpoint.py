"""The single ASGI endpoint that answers every request."""

from __future__ import annotations

import os

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from serve.cache import ByteCache
from serve.http import conditional_headers, etag_matches, route_path, select_variant
from serve.release import BUILD_ID, Release
from serve.responses import (
    IMMUTABLE,
    Body,
    document_response,
    json_response,
    make_body,
    method_not_allowed,
    not_found,
    not_modified,
    revalidate,
)
from serve.snapshot import ReleaseStore

CacheKey = tuple[str, str, str | None]  # (build id, document path, content-coding)

# Small files are read on the event loop: a thread hop costs more than reading
# a few pages from the page cache. Larger ones go to a worker thread.
INLINE_READ_LIMIT = 256 * 1024
# Rough per-entry cost of the key, headers and bookkeeping, so a cache full of
# tiny documents still respects the byte budget.
ENTRY_OVERHEAD = 512
# A release pruned between resolving it and opening the file shows up as one of these.
_VANISHED = (FileNotFoundError, NotADirectoryError)
_PINNED_PREFIX = "/releases/"
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC
INDEX_PAGE = "index.html"


class SnapshotEndpoint:
    def __init__(self, *, store: ReleaseStore, cache: ByteCache[CacheKey, Body], max_age: int) -> None:
        self._store = store
        self._cache = cache
        self._revalidate = revalidate(max_age)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await WebSocketClose()(scope, receive, send)
            return
        response = await self._respond(scope)
        await response(scope, receive, send)

    async def _respond(self, scope: Scope) -> Response:
        method: str = scope["method"]
        if method != "GET" and method != "HEAD":
            return method_not_allowed(method)
        path = route_path(scope)
        if not path.startswith("/"):
            # h11 passes a request-target like "xfeed.json" through unchanged.
            return not_found(path)
        if path == "/healthz":
            return self._healthz()
        if path.startswith(_PINNED_PREFIX):
            return await self._serve_pinned(scope, path)
        return await self._serve_current(scope, path)

    async def _serve_current(self, scope: Scope, path: str) -> Response:
        # A release with the website (build --site) answers `/` with its home page (404 without one).
        key = path[1:] or INDEX_PAGE
        try:
            response = await self._serve(scope, self._store.current(), key, self._revalidate)
        except _VANISHED:
            # Resolve again: `current` has most likely moved on to a newer release.
            try:
                response = await self._serve(scope, self._store.current(), key, self._revalidate)
            except _VANISHED:
                response = None
        return response or not_found(path)

    async def _serve_pinned(self, scope: Scope, path: str) -> Response:
        build_id, separator, key = path[len(_PINNED_PREFIX) :].partition("/")
        release = self._store.pinned(build_id) if separator and BUILD_ID.fullmatch(build_id) else None
        response = None
        if release is not None:
            try:
                response = await self._serve(scope, release, key, IMMUTABLE)
            except _VANISHED:
                pass  # the release was pruned: it is simply not published any more
        return response or not_found(path)

    async def _serve(self, scope: Scope, release: Release, key: str, cache_control: bytes) -> Response | None:
        document = release.documents.get(key)
        if document is None:
            return None
        if_none_match, accept_encoding = conditional_headers(scope)
        variant = select_variant(document, accept_encoding)
        vary = document.has_encodings
        if if_none_match and etag_matches(if_none_match, variant.etag):
            return not_modified(variant, cache_control, vary=vary)
        cache_key = (release.build_id, key, variant.encoding)
        body = self._cache.get(cache_key)
        if body is None:
            path = release.directory + variant.path
            if variant.size <= INLINE_READ_LIMIT:
                content = _read_file(path, variant.size)
            else:
                content = await anyio.to_thread.run_sync(_read_file, path, variant.size)
            body = make_body(content, variant, document.content_type, vary=vary)
            self._cache.put(cache_key, body, len(content) + ENTRY_OVERHEAD)
        return document_response(body, cache_control, head=scope["method"] == "HEAD")

    def _healthz(self) -> Response:
        health = self._store.health()
        payload: dict[str, object] = {
            "status": "ok" if health.problem is None else "degraded",
            "build_id": health.release.build_id,
            "documents": health.release.document_count,
            "cache": self._cache.stats(),
        }
        if health.problem is not None:
            payload["problem"] = health.problem
        return json_response(200 if health.problem is None else 503, payload)


def _read_file(path: str, size: int) -> bytes:
    """The file's bytes in as few syscalls as the kernel allows: open, one read, close.

    The manifest gives the size, so no fstat; asking for one byte more tells a
    file that grew since apart from one that did not, and then it is read whole.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        content = os.read(fd, size + 1)
        if len(content) <= size:
            return content
        chunks = [content]
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
