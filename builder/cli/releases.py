"""What is done with published releases: roll back, compare, bundle, verify, upload to object storage."""

from __future__ import annotations

from pathlib import Path

import click

from builder.cli.common import OUT_OPTION, reports_errors
from builder.options import HttpURL, S3Location


@click.command("rollback")
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


@click.command("diff")
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


@click.command("bundle")
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


@click.command("verify")
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


@click.command("publish")
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
