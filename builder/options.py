"""Click parameter types for the values the commands take: checked as the command line is read, so a bad
value is Click's one usage error (exit status 2) naming the option, before any work starts."""

from __future__ import annotations

import math
import socket
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from builder.errors import BuildError

if TYPE_CHECKING:
    _Text = click.ParamType[str]  # generic since click 8.5; older releases cannot be subscripted at run time
    _Names = click.ParamType[tuple[str, ...]]
    _Date = click.ParamType[date]
else:
    _Text = _Names = _Date = click.ParamType

# Each type imports what it checks with only when it is used: `serve --help` need not load SQLAlchemy.

PORTS = click.IntRange(1, 65535)
URL_EXAMPLES = "e.g. sqlite:///gtfs.sqlite or postgresql://user@localhost/gtfs"


class DatabaseURL(_Text):
    """A SQLAlchemy URL of a dialect SQLAlchemy knows, with a port in range. Whether its driver is
    installed is checked when the engine is made (builder.drivers), so library callers get it too."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            self.fail(f"{value!r} is not a database URL ({URL_EXAMPLES})", param, ctx)
        try:
            url.get_dialect()
        except NoSuchModuleError:
            self.fail(f"{value!r}: no database kind {url.drivername!r} ({URL_EXAMPLES})", param, ctx)
        if url.port is not None and not 1 <= url.port <= 65535:
            self.fail(f"{value!r}: port {url.port} is not in 1-65535", param, ctx)
        return str(value)


class FeedId(_Text):
    """A feed id for `import --feed` (builder.feeds): it names a folder, a file and a schema."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from builder.feeds import checked_id

        try:
            return checked_id(str(value))
        except BuildError as exc:
            self.fail(str(exc), param, ctx)


class ServiceDate(_Date):
    """A GTFS date, YYYYMMDD, as `build --departures-from` takes: a datetime.date."""

    name = "YYYYMMDD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value)
        try:
            if len(text) != 8 or not text.isdigit():
                raise ValueError
            return datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            self.fail(f"{text!r} is not a date YYYYMMDD (e.g. 20260328)", param, ctx)


class Codings(_Names):
    """A comma-separated list of content-codings, as `build --compress` takes: e.g. gzip,br."""

    name = "CODINGS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        from builder.release.compress import parse_codings

        if isinstance(value, tuple):
            return value
        try:
            return parse_codings(str(value))
        except BuildError as exc:
            self.fail(str(exc), param, ctx)


class S3Location(_Text):
    """s3://BUCKET or s3://BUCKET/PREFIX."""

    name = "s3://BUCKET/PREFIX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from builder.release.publish import parse_target

        try:
            parse_target(str(value))
        except BuildError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class HttpURL(_Text):
    """An http:// or https:// URL with a host (and a port in range, if any)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        parts = urlsplit(str(value))
        try:
            port = parts.port
        except ValueError:
            self.fail(f"{value!r}: the port is not a number in 0-65535", param, ctx)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"{value!r} is not an http:// or https:// URL with a host", param, ctx)
        if port == 0:
            self.fail(f"{value!r}: port 0 cannot be connected to", param, ctx)
        return str(value)


class Host(_Text):
    """A host name or address this machine can resolve (to listen on)."""

    name = "HOST"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            socket.getaddrinfo(str(value), None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except (socket.gaierror, UnicodeError) as exc:
            self.fail(f"{value!r} cannot be resolved: {exc}", param, ctx)
        return str(value)


class Ratio(click.FloatRange):
    """A finite number within bounds: FloatRange alone lets `nan` (which compares false both ways) and
    `inf` through, and a limit of nan would switch the check off."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
