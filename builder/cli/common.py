"""What every command shares: the database and output options, and the error boundary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from builder.errors import BuildError
from builder.options import DatabaseURL

DEFAULT_DB = "sqlite:///gtfs.sqlite"
DB_OPTION = click.option(
    "--db",
    "db_url",
    type=DatabaseURL(),
    envvar="TRANSIT_SNAPSHOT_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="SQLAlchemy URL of the GTFS database (env TRANSIT_SNAPSHOT_DB), e.g. sqlite:///gtfs.sqlite or "
    "postgresql://user@localhost/gtfs.",
)
OUT_OPTION = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder: releases/, and `current` pointing at the published one.",
)

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Every BuildError becomes one clear message and its exit status; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BuildError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.secho("interrupted: nothing was published", fg="red", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
