"""`build`: write a release and publish it, here, on a Dask cluster, or as shards merged afterwards."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from builder.cli.common import DB_OPTION, OUT_OPTION, reports_errors
from builder.options import Codings, SchedulerAddress, ServiceDate, ShardIndex
from builder.snapshot.calendars import MAX_WINDOW_DAYS
from builder.snapshot.workers import MAX_WORKERS

if TYPE_CHECKING:
    from builder.build import BuildResult
    from builder.shards import ShardResult


@click.command("build")
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
@click.option(
    "--scheduler",
    type=SchedulerAddress(),
    default=None,
    help="Run the build's tasks on the Dask cluster of this scheduler (tcp://HOST:PORT); its workers "
    "need the database and OUT's storage at the same path (see the README).",
)
@click.option(
    "--shard",
    type=ShardIndex(),
    default=None,
    help="Write only shard I (from 0) of N into --staging, for `build --merge` to publish.",
)
@click.option(
    "--staging",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --shard: the folder, shared by every shard and the merge, the shard writes into.",
)
@click.option(
    "--merge",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Publish the shards of this folder into --out, once all N are there, complete and of one plan.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@click.option("--verbose", "-v", is_flag=True, help="Log each phase with its timing (on stderr).")
@click.pass_context
@reports_errors
def build_command(
    ctx: click.Context,
    db_url: str,
    out_dir: Path,
    workers: int,
    keep: int | None,
    compress: tuple[str, ...],
    site: bool,
    departures_from: date | None,
    departures_days: int,
    scheduler: str | None,
    shard: tuple[int, int] | None,
    staging: Path | None,
    merge: Path | None,
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
    transit-snapshot build --db postgresql://db/gtfs --out /nfs/snapshot --scheduler tcp://dask:8786
    transit-snapshot build --db postgresql://db/gtfs --shard 2/8 --staging /nfs/shards   # on each of 8
    transit-snapshot build --merge /nfs/shards --out /nfs/snapshot --keep 5              # then once
    """
    from builder.build import BuildSettings, build
    from builder.progress import reporter

    mode = _build_mode(ctx, scheduler, shard, staging, merge)
    progress = reporter(quiet=quiet, verbose=verbose, terminal=sys.stderr.isatty())
    if merge is not None:
        from builder.shards import merge_shards

        result = merge_shards(merge, out_dir, keep=keep, site=site, progress=progress)
        if not quiet:
            _summary(result, out_dir)
        return
    settings = BuildSettings(
        db_url=db_url,
        out_dir=out_dir,
        workers=workers,
        keep=keep,
        compress=compress,
        site=site,
        departures_from=departures_from,
        departures_days=departures_days,
        scheduler=scheduler,
    )
    if mode == "shard" and shard is not None and staging is not None:
        from builder.shards import build_shard

        written = build_shard(settings, shard[0], shard[1], staging, progress)
        if not quiet:
            _shard_summary(written, shard)
        return
    result = build(settings, progress)
    if not quiet:
        _summary(result, out_dir)


# What each way of running `build` does not take: it has no use for them, so giving one is a mistake.
NOT_WITH = {
    "merge": (
        "db_url",
        "workers",
        "compress",
        "departures_from",
        "departures_days",
        "scheduler",
        "shard",
        "staging",
    ),
    "shard": ("out_dir", "keep", "site", "scheduler"),
    "scheduler": ("workers",),
}


def _build_mode(
    ctx: click.Context,
    scheduler: str | None,
    shard: tuple[int, int] | None,
    staging: Path | None,
    merge: Path | None,
) -> str:
    """ "merge", "shard", "scheduler" or "local", refusing options that the mode does not take."""
    mode = "merge" if merge else "shard" if shard else "scheduler" if scheduler else "local"
    if (shard is None) != (staging is None) and mode != "merge":
        raise click.UsageError("--shard I/N and --staging DIR go together")
    for name in NOT_WITH.get(mode, ()):
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            option = next(p.opts[0] for p in ctx.command.params if p.name == name)
            raise click.UsageError(
                f"{option} does not go with --{mode} (see `transit-snapshot build --help`)"
            )
    return mode


def _summary(result: BuildResult, out_dir: Path) -> None:
    docs = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.documents.items()))
    state = "published" if result.published else "unchanged (already published)"
    removed = f"; removed {len(result.removed)} old releases" if result.removed else ""
    click.echo(
        f"build {result.build_id} {state}: {docs}; {result.bytes_written / 1e6:.1f} MB "
        f"in {result.seconds:.1f} s -> {out_dir / 'current'}{removed}"
    )


def _shard_summary(written: ShardResult, shard: tuple[int, int]) -> None:
    click.echo(
        f"shard {shard[0]}/{shard[1]} written: {written.documents:,} documents, "
        f"{written.bytes_written / 1e6:.1f} MB in {written.seconds:.1f} s -> {written.folder} "
        f"(plan {written.plan[:16]})"
    )
