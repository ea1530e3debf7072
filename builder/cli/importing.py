"""`import`: load a feed into the database, within bounds a hostile feed cannot get past."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from builder.cli.common import DB_OPTION, F, reports_errors
from builder.options import FeedId, Ratio


def limit_options(func: F) -> F:
    """`import`'s bounds on what one file of a feed may hold (builder.importer.limits.ImportLimits): an
    option --max-x-y per field max_x_y, defaulting to the field's default."""
    from builder.importer.limits import ImportLimits

    default = ImportLimits()
    helps = {
        "max_line_bytes": "Longest line (or record quoted over lines, or run of blank lines).",
        "max_field_chars": "Longest value.",
        "max_columns": "Most fields in a header or a row.",
        "max_file_bytes": "Largest file, decompressed.",
        "max_ratio": "Highest compression ratio of a zip entry larger than "
        f"{default.ratio_floor_bytes >> 20} MB.",
        "max_zip_entries": "Most files and folders listed in a zip.",
    }
    for name, help_text in reversed(helps.items()):
        option = click.option(
            f"--{name.replace('_', '-')}",
            type=Ratio(1) if name == "max_ratio" else click.IntRange(1),
            default=getattr(default, name),
            show_default=True,
            help=help_text,
        )
        func = option(func)
    return func


@click.command("import")
@click.argument("feed", type=click.Path(path_type=Path))
@DB_OPTION
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Drop invalid rows (and what depends on them), report how many, and go on.",
)
@click.option(
    "--feed",
    "feed_id",
    type=FeedId(),
    default=None,
    help="Load it as the feed ID among others in the database, replacing that feed alone: lowercase "
    "letters, digits, _ and -. A build then writes each feed's documents under feeds/ID/.",
)
@limit_options
@reports_errors
def import_command(feed: Path, db_url: str, skip_invalid: bool, feed_id: str | None, **limits: Any) -> None:
    """Load a GTFS feed (.zip or folder) into the database, replacing what it held (with --feed ID,
    what it held for that feed id: several feeds in one database, one snapshot).

    All or nothing: if the feed is refused, the database is left exactly as it was, and every problem
    found (up to 50) is listed with its file and line. A file past one of the --max-* limits is refused
    as soon as it passes it (exit status 3), so a hostile feed costs seconds and little memory. A build
    running meanwhile still publishes the state it started from; on PostgreSQL the import waits for it to
    finish before replacing the tables.

    \b
    transit-snapshot import ../shared/feeds/caltrain.zip --db sqlite:///caltrain.sqlite
    transit-snapshot import gtfs/ --db postgresql://localhost/gtfs --skip-invalid
    transit-snapshot import huge.zip --max-file-bytes 17179869184 --max-line-bytes 4194304
    transit-snapshot import bronx.zip --feed bronx --db sqlite:///nyc.sqlite   # one of several feeds
    """
    from builder.importer.limits import ImportLimits
    from builder.importer.run import import_feed

    report = import_feed(
        feed, db_url=db_url, skip_invalid=skip_invalid, limits=ImportLimits(**limits), feed_id=feed_id
    )
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    rows = ", ".join(f"{n:,} {table}" for table, n in sorted(report.rows.items()))
    named = f" as feed {feed_id}" if feed_id is not None else ""
    click.echo(f"imported {feed} into {db_url}{named}: {rows}")
    for kind, n in sorted(report.dropped.items()):
        click.echo(f"dropped {n:,} rows: {kind}")
    for reference, n in report.dangling.items():
        click.echo(f"kept {n:,} rows whose {reference} is not in the feed (left out of the documents)")
