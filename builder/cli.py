"""The `transit-snapshot` command: a thin layer over the library that turns BuildErrors into messages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from builder.errors import BuildError
from builder.options import PORTS, Codings, DatabaseURL, FeedId, Host, HttpURL, Ratio, S3Location, ServiceDate
from builder.snapshot.calendars import MAX_WINDOW_DAYS
from builder.snapshot.workers import MAX_WORKERS

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


def limit_options(func: F) -> F:
    """`import`'s bounds on what one file of a feed may hold (builder.importer.limits.ImportLimits)."""
    from builder.importer.limits import ImportLimits

    default = ImportLimits()
    options = [
        click.option(
            "--max-line-bytes",
            type=click.IntRange(1),
            default=default.max_line_bytes,
            show_default=True,
            help="Longest line (or record quoted over lines, or run of blank lines).",
        ),
        click.option(
            "--max-field-chars",
            type=click.IntRange(1),
            default=default.max_field_chars,
            show_default=True,
            help="Longest value.",
        ),
        click.option(
            "--max-columns",
            type=click.IntRange(1),
            default=default.max_columns,
            show_default=True,
            help="Most fields in a header or a row.",
        ),
        click.option(
            "--max-file-bytes",
            type=click.IntRange(1),
            default=default.max_file_bytes,
            show_default=True,
            help="Largest file, decompressed.",
        ),
        click.option(
            "--max-ratio",
            type=Ratio(1),
            default=default.max_ratio,
            show_default=True,
            help="Highest compression ratio of a zip entry larger than "
            f"{default.ratio_floor_bytes >> 20} MB.",
        ),
        click.option(
            "--max-zip-entries",
            type=click.IntRange(1),
            default=default.max_zip_entries,
            show_default=True,
            help="Most files and folders listed in a zip.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@cli.command("import")
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


@cli.command("build")
@DB_OPTION
@OUT_OPTION
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=2,
    show_default=True,
    help="Processes writing documents: this one and N-1 forked helpers taking id ranges of "
    "both passes in turn. 1 uses the least memory, 2 keeps two cores busy.",
)
@click.option(
    "--keep",
    type=click.IntRange(1),
    default=None,
    help="After publishing, delete all but the newest N releases (the current one always stays).",
)
@click.option(
    "--compress",
    "compress",
    type=Codings(),
    default="",
    metavar="CODINGS",
    help="Also write precompressed sidecars beside each document, listed in the manifest: "
    "gzip, br, or gzip,br.",
)
@click.option(
    "--site",
    is_flag=True,
    help="Also write the rider's website: index.html, a page per route (timetables, map) and "
    "per stop (departure boards), made from the release's own documents.",
)
@click.option(
    "--departures-from",
    "departures_from",
    type=ServiceDate(),
    default=None,
    help="First date of the departure boards' window. [default: today in the feed's timezone]",
)
@click.option(
    "--departures-days",
    "departures_days",
    type=click.IntRange(0, MAX_WINDOW_DAYS),
    default=7,
    show_default=True,
    help="Dates in the window: a board per stop per date; 0 writes none.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@click.option("--verbose", "-v", is_flag=True, help="Log each phase with its timing (on stderr).")
@reports_errors
def build_command(
    db_url: str,
    out_dir: Path,
    workers: int,
    keep: int | None,
    compress: tuple[str, ...],
    site: bool,
    departures_from: date | None,
    departures_days: int,
    quiet: bool,
    verbose: bool,
) -> None:
    """Write every route tree, stop-trips view and trip-stops list, then publish them atomically.

    The release is written under OUT/releases/<build-id>/ and OUT/current is switched to it in one
    rename; readers never see a half-written snapshot. An unchanged database publishes nothing new.
    On a terminal a progress bar shows each phase; the last line is always a summary (unless --quiet).
    Every process of the build reads the database as it was when the build started, whatever an import
    does meanwhile. Exit status 0 for published and unchanged, 6 when the database changed during the
    build in a way it could not keep out (nothing published; the next run publishes the new state), 75
    when another build holds the lock (see the README).

    \b
    transit-snapshot build --db sqlite:///gtfs.sqlite --out output
    transit-snapshot build --out /srv/snapshot --keep 5 --quiet      # nightly, from cron
    transit-snapshot build --out output --compress gzip,br   # routes/B41.json.gz and .br too
    transit-snapshot build --out output --site               # and output/current/index.html
    transit-snapshot build --departures-from 20260328 --departures-days 3   # boards for 3 dates
    """
    from builder.build import BuildSettings, build
    from builder.progress import reporter

    progress = reporter(quiet=quiet, verbose=verbose, terminal=sys.stderr.isatty())
    settings = BuildSettings(
        db_url=db_url,
        out_dir=out_dir,
        workers=workers,
        keep=keep,
        compress=compress,
        site=site,
        departures_from=departures_from,
        departures_days=departures_days,
    )
    result = build(settings, progress)
    if quiet:
        return
    docs = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.documents.items()))
    state = "published" if result.published else "unchanged (already published)"
    removed = f"; removed {len(result.removed)} old releases" if result.removed else ""
    click.echo(
        f"build {result.build_id} {state}: {docs}; {result.bytes_written / 1e6:.1f} MB "
        f"in {result.seconds:.1f} s -> {out_dir / 'current'}{removed}"
    )


@cli.command("rollback")
@OUT_OPTION
@reports_errors
def rollback_command(out_dir: Path) -> None:
    """Point OUT/current back at the release published before it, atomically.

    The order is OUT/history (written at every publish); the release rolled back from stays on disk
    until --keep removes it. Takes the build lock, so it never races a build.

    \b
    transit-snapshot rollback --out output
    """
    from builder.release.history import rollback
    from builder.release.output import OutputLayout

    layout = OutputLayout(out_dir)
    with layout.locked():
        before, after = rollback(layout)
    click.echo(f"rolled back {out_dir / 'current'}: {before} -> {after}")


@cli.command("diff")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine output: counts and ids as JSON.")
@reports_errors
def diff_command(old: Path, new: Path, as_json: bool) -> None:
    """Documents added, removed and changed between two releases (folders or manifest.json files).

    Counts per kind (route, stop, trip, other), then one line per document: + added, - removed,
    ~ changed. Exits 0 whatever the differences.

    \b
    transit-snapshot diff output/current output/releases/265bc7b39b2aad25
    transit-snapshot diff old/manifest.json new/manifest.json --json
    """
    import orjson

    from builder.release.diff import diff_manifests, render
    from builder.release.manifest import read

    changes = diff_manifests(read(old), read(new))
    if as_json:
        click.echo(orjson.dumps(changes.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render(changes))


@cli.command("bundle")
@OUT_OPTION
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Archive to write: .zip, .tar.gz, .tgz or .tar.zst.",
)
@reports_errors
def bundle_command(out_dir: Path, to: Path) -> None:
    """Write the published release as one archive, its manifest included, for offline consumers.

    Files sit under one folder named by the build id. The archive is written under a temporary name
    and renamed, so FILE is never half-written.

    \b
    transit-snapshot bundle --out output --to snapshot.zip
    transit-snapshot bundle --out output --to snapshot.tar.zst
    """
    from builder.release.bundle import bundle
    from builder.release.output import OutputLayout

    build_id = bundle(OutputLayout(out_dir), to)
    click.echo(f"bundled release {build_id} -> {to} ({to.stat().st_size / 1e6:.1f} MB)")


@cli.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@reports_errors
def verify_command(path: Path) -> None:
    """Check a release folder, an unpacked bundle or a bundle archive against its manifest.

    Every file listed must be present with the right size and sha256, and nothing else may be there
    (build-info.json aside). Exits 0 when all is right, 3 naming every problem otherwise.

    \b
    transit-snapshot verify output/current
    transit-snapshot verify snapshot.tar.gz
    """
    from builder.release.bundle import verify

    build_id = verify(path)
    click.echo(f"{path}: release {build_id} matches its manifest")


@cli.command("serve")
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


@cli.command("publish")
@OUT_OPTION
@click.option(
    "--to",
    "to",
    type=S3Location(),
    required=True,
    metavar="s3://BUCKET/PREFIX",
    help="Where the snapshot goes: a bucket, and a folder (prefix) in it.",
)
@click.option(
    "--endpoint-url",
    type=HttpURL(),
    default=None,
    envvar="AWS_ENDPOINT_URL",
    help="An S3-compatible store other than AWS (MinIO, R2, GCS interop), e.g. http://127.0.0.1:9000.",
)
@click.option(
    "--max-age",
    type=click.IntRange(0),
    default=60,
    show_default=True,
    help="Cache-Control max-age set on every object (a CDN revalidates after it).",
)
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
    from builder.release.publish import PublishSettings, publish

    report = publish(PublishSettings(out_dir=out_dir, to=to, endpoint_url=endpoint_url, max_age=max_age))
    click.echo(
        f"published {report.build_id} to {to}: {report.uploaded:,} uploaded, "
        f"{report.unchanged:,} unchanged, {report.deleted:,} deleted"
    )


def main() -> None:
    cli(prog_name="transit-snapshot")
