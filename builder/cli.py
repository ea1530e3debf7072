"""The `transit-snapshot` command: a thin layer over the library that turns BuildErrors into messages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from builder.errors import BuildError

DEFAULT_DB = "sqlite:///gtfs.sqlite"
DB_OPTION = click.option(
    "--db", "db_url", envvar="TRANSIT_SNAPSHOT_DB", default=DEFAULT_DB, show_default=True,
    help="SQLAlchemy URL of the GTFS database (env TRANSIT_SNAPSHOT_DB), e.g. sqlite:///gtfs.sqlite or "
         "postgresql://user@localhost/gtfs.")
OUT_OPTION = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("output"),
    show_default=True, help="Output folder: releases/, and `current` pointing at the published one.")

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="transit-snapshot")
def cli() -> None:
    """Turn a GTFS schedule database into a static JSON snapshot, and serve it.

    \b
    transit-snapshot import feed.zip --db sqlite:///gtfs.sqlite
    transit-snapshot build --db sqlite:///gtfs.sqlite --out output
    transit-snapshot serve --out output
    """


@cli.command("import")
@click.argument("feed", type=click.Path(path_type=Path))
@DB_OPTION
@click.option("--skip-invalid", is_flag=True,
              help="Drop invalid rows (and what depends on them), report how many, and go on.")
@reports_errors
def import_command(feed: Path, db_url: str, skip_invalid: bool) -> None:
    """Load a GTFS feed (.zip or folder) into the database, replacing what it held.

    All or nothing: if the feed is refused, the database is left exactly as it was, and every problem
    found (up to 50) is listed with its file and line.

    \b
    transit-snapshot import ../shared/feeds/caltrain.zip --db sqlite:///caltrain.sqlite
    transit-snapshot import gtfs/ --db postgresql://localhost/gtfs --skip-invalid
    """
    from builder.importer import import_feed

    report = import_feed(feed, db_url=db_url, skip_invalid=skip_invalid)
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    rows = ", ".join(f"{n:,} {table}" for table, n in sorted(report.rows.items()))
    click.echo(f"imported {feed} into {db_url}: {rows}")
    for kind, n in sorted(report.dropped.items()):
        click.echo(f"dropped {n:,} rows: {kind}")


@cli.command("build")
@DB_OPTION
@OUT_OPTION
@click.option("--workers", type=click.IntRange(1, 2), default=2, show_default=True,
              help="Processes for the route/trip and stop passes.")
@click.option("--compress", "compress", default="", metavar="CODINGS",
              help="Also write precompressed sidecars beside each document, listed in the manifest: "
                   "gzip, br, or gzip,br.")
@reports_errors
def build_command(db_url: str, out_dir: Path, workers: int, compress: str) -> None:
    """Write every route tree, stop-trips view and trip-stops list, then publish them atomically.

    The release is written under OUT/releases/<build-id>/ and OUT/current is switched to it in one
    rename; readers never see a half-written snapshot. An unchanged database publishes nothing new.

    \b
    transit-snapshot build --db sqlite:///gtfs.sqlite --out output
    transit-snapshot build --out output --compress gzip,br   # routes/B41.json.gz and .br too
    """
    from builder.build import BuildSettings, build
    from builder.compress import parse_codings

    settings = BuildSettings(db_url=db_url, out_dir=out_dir, workers=workers,
                             compress=parse_codings(compress))
    result = build(settings)
    docs = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.documents.items()))
    state = "published" if result.published else "unchanged (already published)"
    click.echo(f"build {result.build_id} {state}: {docs}; {result.bytes_written / 1e6:.1f} MB "
               f"in {result.seconds:.1f} s -> {out_dir / 'current'}")


@cli.command("serve")
@OUT_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--max-age", type=int, default=60, show_default=True,
              help="Cache-Control max-age for documents under their stable URLs.")
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


@cli.command("publish")
@OUT_OPTION
@click.option("--to", "to", required=True, metavar="s3://BUCKET/PREFIX",
              help="Where the snapshot goes: a bucket, and a folder (prefix) in it.")
@click.option("--endpoint-url", default=None, envvar="AWS_ENDPOINT_URL",
              help="An S3-compatible store other than AWS (MinIO, R2, GCS interop), e.g. http://127.0.0.1:9000.")
@click.option("--max-age", type=click.IntRange(0), default=60, show_default=True,
              help="Cache-Control max-age set on every object (a CDN revalidates after it).")
@reports_errors
def publish_command(out_dir: Path, to: str, endpoint_url: str | None, max_age: int) -> None:
    """Upload the current release to S3-compatible object storage, changed documents only.

    Documents (and their .gz/.br sidecars) whose sha256 differs from what the bucket holds go first,
    manifest.json last, then documents gone from the release are deleted. Credentials come from the
    usual AWS sources (environment, ~/.aws, instance role).

    \b
    transit-snapshot publish --out output --to s3://my-bucket/transit
    transit-snapshot publish --out output --to s3://snap/ --endpoint-url http://127.0.0.1:9000
    """
    from builder.publish import PublishSettings, publish

    report = publish(PublishSettings(out_dir=out_dir, to=to, endpoint_url=endpoint_url, max_age=max_age))
    click.echo(f"published {report.build_id} to {to}: {report.uploaded:,} uploaded, "
               f"{report.unchanged:,} unchanged, {report.deleted:,} deleted")


def main() -> None:
    cli(prog_name="transit-snapshot")
