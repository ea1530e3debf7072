"""The `transit-snapshot` command: a thin layer over the library that turns BuildErrors into messages.

One Click group; each family of commands lives in its own module (importing, building, releases,
serving) and shares the options and the error boundary of builder.cli.common.
"""

from __future__ import annotations

import click

from builder.cli.building import build_command
from builder.cli.importing import import_command
from builder.cli.releases import (
    bundle_command,
    diff_command,
    publish_command,
    rollback_command,
    verify_command,
)
from builder.cli.serving import serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="transit-snapshot")
def cli() -> None:
    """Turn a GTFS schedule database into a static JSON snapshot, and serve it.

    \b
    transit-snapshot import feed.zip --db sqlite:///gtfs.sqlite
    transit-snapshot build --db sqlite:///gtfs.sqlite --out output --keep 5
    transit-snapshot serve --out output
    transit-snapshot bundle --out output --to snapshot.zip && transit-snapshot verify snapshot.zip
    """


for command in (
    import_command,
    build_command,
    rollback_command,
    diff_command,
    bundle_command,
    verify_command,
    serve_command,
    publish_command,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="transit-snapshot")
