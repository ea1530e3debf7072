"""The converter of New York's feeds (tests/benchmarks/nyfeeds.py): the package's JSON to GTFS, streaming."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.benchmarks import nyfeeds
from tests.conftest import FEEDS, SAMPLE_FEED

PACKAGE_ZIP = nyfeeds.cache_dir() / nyfeeds.VERSION / nyfeeds.JSON_ZIP
needs_package = pytest.mark.skipif(
    not PACKAGE_ZIP.exists(),
    reason=f"{nyfeeds.PACKAGE} is not fetched ({PACKAGE_ZIP} is absent; scripts/ny-feeds --fetch-only fetches it)",
)


def json_lines(objects: list[dict[str, str]]) -> bytes:
    """One JSON array, one object per line: the package's layout."""
    return b"[\n" + b",\n".join(orjson.dumps(o) for o in objects) + b"\n]\n"


def package_of(tmp_path: Path, folders: dict[str, dict[str, bytes]]) -> Path:
    path = tmp_path / "gtfs_json.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for folder, files in folders.items():
            for name, data in files.items():
                zf.writestr(f"gtfs_json/{folder}/{name}", data)
    return path


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_convert_gives_the_feeds_rows_back(tmp_path: Path) -> None:
    files = {}
    for path in sorted(SAMPLE_FEED.glob("*.txt")):
        header, *body = csv_rows(path.read_bytes())
        files[f"{path.stem}.json"] = json_lines([dict(zip(header, row)) for row in body])
        files[f"{path.stem}.json.d.ts"] = b"declare const data: object[];\n"  # beside each, ignored
    out = tmp_path / "sample.zip"
    counts = nyfeeds.convert(package_of(tmp_path, {"sample": files}), "sample", out)
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(p.name for p in SAMPLE_FEED.glob("*.txt"))
        for path in SAMPLE_FEED.glob("*.txt"):
            header, *body = csv_rows(path.read_bytes())
            # the sample's short rows lack their last keys in JSON: empty values in the converted CSV
            want = [header] + [row + [""] * (len(header) - len(row)) for row in body]
            assert csv_rows(zf.read(path.name)) == want, path.name
            assert counts[path.stem] == len(want) - 1


def test_convert_quotes_values_and_fills_missing_keys(tmp_path: Path) -> None:
    objects = [
        {"stop_id": "A", "stop_name": 'Main St, "North"', "stop_desc": " lead"},
        {"stop_id": "B", "stop_name": "Line\nbreak"},  # stop_desc missing: an empty value
        {"stop_name": "Ünïcode", "stop_id": "C", "stop_desc": ""},  # another key order
    ]
    out = tmp_path / "f.zip"
    nyfeeds.convert(package_of(tmp_path, {"f": {"stops.json": json_lines(objects)}}), "f", out)
    with zipfile.ZipFile(out) as zf:
        assert csv_rows(zf.read("stops.txt")) == [
            ["stop_id", "stop_name", "stop_desc"],
            ["A", 'Main St, "North"', " lead"],
            ["B", "Line\nbreak", ""],
            ["C", "Ünïcode", ""],
        ]


def test_convert_is_deterministic(tmp_path: Path) -> None:
    package = package_of(tmp_path, {"f": {"agency.json": json_lines([{"agency_id": "x"}])}})
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    nyfeeds.convert(package, "f", first)
    nyfeeds.convert(package, "f", second)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[\n{"stop_id": 1}\n]\n', "1 is not a string"),
        (
            b'[\n{"stop_id": "a"},\n{"stop_id": "b", "zone_id": "z"}\n]\n',
            "keys ['zone_id'] are not in the header",
        ),
        (b'[{"stop_id": "a"}, {"stop_id": "b"}]\n', "line 1: a list, not one object per line"),
        (b'[\n["a"]\n]\n', "line 2: a list, not one object per line"),
        (b'[\n{"stop_id": "a"\n}\n]\n', "line 2: not one JSON object per line"),
    ],
)
def test_convert_refuses_what_it_cannot_convert_faithfully(tmp_path: Path, data: bytes, message: str) -> None:
    out = tmp_path / "f.zip"
    with pytest.raises(nyfeeds.ConversionError, match=re.escape(message)):
        nyfeeds.convert(package_of(tmp_path, {"f": {"stops.json": data}}), "f", out)
    assert not out.exists()


def test_convert_names_an_unknown_folder(tmp_path: Path) -> None:
    package = package_of(tmp_path, {"f": {"agency.json": json_lines([{"agency_id": "x"}])}})
    with pytest.raises(nyfeeds.ConversionError, match="bus_xx: no such folder"):
        nyfeeds.convert(package, "bus_xx", tmp_path / "x.zip")


def digests(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        out = {}
        for name in zf.namelist():
            digest = hashlib.sha256()
            with zf.open(name) as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            out[name] = digest.hexdigest()
        return out


@needs_package
@pytest.mark.skipif(not FEEDS.is_dir(), reason=f"the real feeds are not beside the repo ({FEEDS} is absent)")
def test_convert_bus_bk_is_the_shared_brooklyn_feed(tmp_path: Path) -> None:
    """../shared/feeds/mta_bus_brooklyn.zip was made from the same package: same files, same bytes (so the
    same rows in the same order)."""
    out = tmp_path / "bus_bk.zip"
    counts = nyfeeds.convert(PACKAGE_ZIP, "bus_bk", out)
    assert counts["stop_times"] == 2_400_187
    assert digests(out) == digests(FEEDS / "mta_bus_brooklyn.zip")


@needs_package
def test_package_has_the_nine_feeds() -> None:
    with zipfile.ZipFile(PACKAGE_ZIP) as zf:
        for folder in nyfeeds.FOLDERS:
            assert {"agency", "routes", "stops", "trips", "stop_times"} <= set(nyfeeds.gtfs_files(zf, folder))
