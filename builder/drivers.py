"""Engines from database URLs, and one clear line when the URL is bad or its driver is not installed.

SQLAlchemy imports a URL's DB-API driver when the engine is created: `postgresql://` means psycopg 3
since SQLAlchemy 2.1 (`pip install 'transit-snapshot[postgres]'` installs it), `postgresql+psycopg2://`
means psycopg2. A missing driver is the user's install to fix, so it is told as such (exit status 4),
never as a traceback from deep inside SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from builder.errors import DatabaseError

POSTGRES_EXTRA = "pip install 'transit-snapshot[postgres]'"
# module a dialect imports -> the package that provides it, when the names differ
_PACKAGES = {"psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient"}


def parse_url(url: str | URL) -> URL:
    """`url` parsed, or DatabaseError naming it."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {url!r}: {exc}") from exc


def create_engine(url: str | URL, **kwargs: Any) -> sa.Engine:
    """`sqlalchemy.create_engine`, with a bad URL or a missing driver turned into a DatabaseError."""
    parsed = parse_url(url)
    try:
        return sa.create_engine(parsed, **kwargs)
    except ImportError as exc:  # NoSuchModuleError is not one: it is an unknown dialect or driver name
        raise missing_driver(parsed, exc) from exc
    except (ArgumentError, NoSuchModuleError, ValueError, TypeError) as exc:
        raise DatabaseError(f"bad database URL {shown(parsed)}: {exc}") from exc


def missing_driver(url: URL, exc: ImportError) -> DatabaseError:
    """The message for a URL whose driver module cannot be imported: what to install."""
    scheme = url.drivername
    module = exc.name or _driver_name(url)
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else f"no module {module}"
    if url.get_backend_name() != "postgresql":
        package = _PACKAGES.get(module, module)
        return DatabaseError(
            f"the database driver for {scheme}:// cannot be imported ({why}): pip install {package}"
        )
    if module == "psycopg":
        return DatabaseError(
            f"the PostgreSQL driver psycopg (for {scheme}://) cannot be imported ({why}): {POSTGRES_EXTRA}"
        )
    package = _PACKAGES.get(module, module)
    return DatabaseError(
        f"the PostgreSQL driver {module} (for {scheme}://) cannot be imported ({why}): "
        f"pip install {package}, or use postgresql:// after {POSTGRES_EXTRA}"
    )


def _driver_name(url: URL) -> str:
    try:
        return url.get_driver_name()
    except NoSuchModuleError:
        return url.drivername


def shown(url: str | URL) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return repr(url)
