"""Application factory and the uvicorn launcher used by the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from serve.cache import ByteCache
from serve.endpoint import CacheKey, SnapshotEndpoint
from serve.responses import Body
from serve.snapshot import ReleaseStore

DEFAULT_CACHE_BYTES = 64 * 2**20
DEFAULT_MAX_AGE = 60


def create_app(
    *, out_dir: Path, cache_bytes: int = DEFAULT_CACHE_BYTES, max_age: int = DEFAULT_MAX_AGE
) -> Starlette:
    """A Starlette app serving the release `out_dir/current` points at.

    Raises SnapshotError straight away when nothing servable is published, so a
    misconfigured server fails at start-up rather than on its first request.
    """
    if cache_bytes < 0 or max_age < 0:
        raise ValueError("cache_bytes and max_age must be >= 0")
    store = ReleaseStore(out_dir=Path(out_dir))
    cache: ByteCache[CacheKey, Body] = ByteCache(budget=cache_bytes)
    app = SnapshotApp(SnapshotEndpoint(store=store, cache=cache, max_age=max_age))
    app.state.releases = store
    app.state.cache = cache
    return app


class SnapshotApp(Starlette):
    """Starlette with HTTP requests handed straight to one endpoint.

    Starlette's default stack (error and exception middleware, then routing)
    costs about a quarter of the throughput on these tiny responses and adds
    nothing here: the endpoint raises no HTTPExceptions, and uvicorn already
    turns an unexpected error into a 500. Lifespan and websocket scopes still
    go through the router; middleware added with `add_middleware` still wraps
    everything.
    """

    def __init__(self, endpoint: ASGIApp) -> None:
        super().__init__()
        self.endpoint = endpoint
        # The router's default app, not a catch-all Route: a Route's path regex
        # cannot match a path holding a newline (%0A).
        self.router.default = endpoint
        self.router.redirect_slashes = False

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self._dispatch
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.endpoint(scope, receive, send)
        else:
            await self.router(scope, receive, send)


def run(
    *,
    out_dir: Path,
    host: str,
    port: int,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    max_age: int = DEFAULT_MAX_AGE,
    **uvicorn_options: Any,
) -> None:
    """Build the app (surfacing SnapshotError before binding) and serve it with uvicorn."""
    app = create_app(out_dir=out_dir, cache_bytes=cache_bytes, max_age=max_age)
    uvicorn.run(app, host=host, port=port, **server_options(**uvicorn_options))


def server_options(**overrides: Any) -> dict[str, Any]:
    """The uvicorn settings `run` uses, with `overrides` applied on top."""
    options: dict[str, Any] = {"access_log": False, "server_header": False}
    # uvicorn's C-accelerated HTTP parser and event loop, when installed.
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    return {**options, **overrides}
