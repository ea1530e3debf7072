"""What writing manifest.json costs in memory for a region's number of documents: N synthetic entries
(paths and ids shaped like Brooklyn's trips), the manifest made whole (`to_bytes`) against written in
chunks (`write`), each in a fresh process, peak RSS (VmHWM) printed beside the entries' own size; and
`spooled`, as a build writes it now: each entry into an EntryLog as it is made (sorted runs on disk,
builder.release.entries), manifest.json merged from the runs, no entry list ever held.

    .venv/bin/python -m tests.benchmarks.manifest_memory --entries 324000
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from builder.release.entries import EntryLog, write_manifest
from builder.release.manifest import Entry, Manifest

KINDS = ("trip", "stop", "departures", "route")
HOW = ("whole", "chunks", "spooled")


def status_mb(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field))
    return int(line.split()[1]) // 1024


def entries(count: int) -> Iterator[Entry]:
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        id_ = f"MTA_NYCT_{i:07d}-BPPC4-BP_C4-Weekday-10"
        path = f"feeds/bus_bk/{kind}s/{id_}.json"
        yield Entry(path, kind, id_, hashlib.sha256(path.encode()).hexdigest(), 12345 + i)


def measure(how: str, count: int) -> None:
    if how == "spooled":
        with tempfile.TemporaryDirectory() as work:
            log = EntryLog(Path(work) / ".entries")
            log.extend(entries(count))
            held = status_mb("VmRSS")
            write_manifest(Path(work) / "manifest.json", log)
        print(f"| {how} | {count:,} | {held} | {status_mb('VmHWM')} |")
        return
    listed = Manifest.of(entries(count))
    held = status_mb("VmRSS")
    with tempfile.TemporaryDirectory() as work:
        if how == "whole":
            (Path(work) / "manifest.json").write_bytes(listed.to_bytes())
        else:
            listed.write(Path(work) / "manifest.json")
    print(f"| {how} | {count:,} | {held} | {status_mb('VmHWM')} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=324_000)
    parser.add_argument("--how", choices=HOW)
    args = parser.parse_args()
    if args.how:
        measure(args.how, args.entries)
        return
    print("| manifest | entries | RSS with the entries MB | peak RSS MB |\n|---|---|---|---|", flush=True)
    for how in HOW:
        run = [sys.executable, "-m", "tests.benchmarks.manifest_memory", "--entries", str(args.entries)]
        subprocess.run([*run, "--how", how], check=True)


if __name__ == "__main__":
    main()
