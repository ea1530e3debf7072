"""`serve`: the published snapshot over HTTP (serve.app), its start-up errors as one line."""

from __future__ import annotations

from pathlib import Path

import click

from builder.cli.common import OUT_OPTION, reports_errors
from builder.errors import BuildError
from builder.options import PORTS, Host


@click.command("serve")
@OUT_OPTION
@click.option(
    "--host",
    type=Host(),
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on: 127.0.0.1 for this machine only, 0.0.0.0 for every interface.",
)
@click.option("--port", type=PORTS, default=8000, show_default=True)
@click.option(
    "--max-age",
    type=click.IntRange(0),
    default=60,
    show_default=True,
    help="Cache-Control max-age for documents under their stable URLs.",
)
@reports_errors
def serve_command(out_dir: Path, host: str, port: int, max_age: int) -> None:
    """Serve the published snapshot over HTTP, following new publishes without a restart.

    \b
    transit-snapshot serve --out output --port 8000
    curl http://127.0.0.1:8000/routes.json
    """
    from serve.app import run
    from serve.errors import SnapshotError

    try:
        run(out_dir=out_dir, host=host, port=port, max_age=max_age)
    except SnapshotError as exc:
        raise BuildError(str(exc)) from exc
