"""`build --compress`: deterministic sidecars beside each document, listed in the manifest."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import brotli
import pytest

from builder.build import BuildSettings
from builder.errors import BuildError, VerifyError
from builder.release.bundle import verify
from builder.release.compress import parse_codings
from tests.conftest import SAMPLE_FEED, Builder
from tests.snapshot_checks import manifest

DECOMPRESS = {"gzip": gzip.decompress, "br": brotli.decompress}


def test_compress_sidecars_decompress_to_the_document_bytes(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED, compress=("br", "gzip")).release
    entries = manifest(release)
    assert entries
    for entry in entries:
        plain = (release / entry.path).read_bytes()
        assert entry.encodings is not None and set(entry.encodings) == {"br", "gzip"}, entry.path
        for coding, sidecar in entry.encodings.items():
            data = (release / sidecar.path).read_bytes()
            assert sidecar.path == entry.path + (".gz" if coding == "gzip" else ".br")
            assert hashlib.sha256(data).hexdigest() == sidecar.sha256 and len(data) == sidecar.bytes
            assert DECOMPRESS[coding](data) == plain, sidecar.path


def test_compress_sidecars_are_byte_identical_across_builds(build_feed: Builder, tmp_path: Path) -> None:
    first = build_feed(SAMPLE_FEED, out=tmp_path / "a", compress=("br", "gzip"))
    second = build_feed(SAMPLE_FEED, out=tmp_path / "b", compress=("br", "gzip"), workers=2)
    assert first.build_id == second.build_id
    names = sorted(p.relative_to(first.release) for p in first.release.rglob("*.gz"))
    assert names and all((first.release / n).read_bytes() == (second.release / n).read_bytes() for n in names)


def test_compress_only_the_codings_asked_for(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED, compress=("gzip",)).release
    assert {tuple(e.encodings or ()) for e in manifest(release)} == {("gzip",)}
    assert not list(release.rglob("*.br"))


def test_compress_absent_leaves_no_sidecars_and_no_encodings(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED).release
    assert not list(release.rglob("*.gz")) and not list(release.rglob("*.br"))
    assert all(e.encodings is None for e in manifest(release))
    assert b"encodings" not in (release / "manifest.json").read_bytes()


def test_compress_parse_codings_normalises_and_refuses_unknown() -> None:
    assert parse_codings("gzip, br,gzip") == ("br", "gzip")
    assert parse_codings("") == ()
    with pytest.raises(BuildError, match="zstd"):
        parse_codings("gzip,zstd")
    with pytest.raises(BuildError):
        BuildSettings(db_url="sqlite://", compress=("deflate",))


def test_compress_cli_option_writes_sidecars(tmp_path: Path) -> None:
    db, out = f"sqlite:///{tmp_path / 'g.sqlite'}", tmp_path / "out"
    cli = [str(Path(sys.executable).parent / "transit-snapshot")]
    subprocess.run([*cli, "import", str(SAMPLE_FEED), "--db", db], check=True, capture_output=True)
    subprocess.run(
        [*cli, "build", "--db", db, "--out", str(out), "--compress", "gzip,br"],
        check=True,
        capture_output=True,
    )
    assert (out / "current" / "routes.json.gz").is_file() and (out / "current" / "routes.json.br").is_file()
    bad = subprocess.run(
        [*cli, "build", "--db", db, "--out", str(out), "--compress", "zstd"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "unknown compression zstd" in bad.stderr and "Traceback" not in bad.stderr


def test_compress_release_verifies_and_a_damaged_sidecar_is_named(build_feed: Builder) -> None:
    release = build_feed(SAMPLE_FEED, compress=("br", "gzip")).release
    assert verify(release)  # sidecars are listed under their document's entry, not extra files
    damaged = release / "routes" / "F1.json.gz"
    damaged.write_bytes(damaged.read_bytes()[:-1])
    with pytest.raises(VerifyError) as err:
        verify(release)
    size = damaged.stat().st_size
    assert err.value.problems == [
        f"wrong size: routes/F1.json.gz has {size} bytes, the manifest says {size + 1}",
        "wrong sha256: routes/F1.json.gz",
    ]
