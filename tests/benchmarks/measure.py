"""Run one program in its own subprocess and measure it: wall time, CPU (user+sys, its children included)
and peak RSS of its whole process tree (sampled from /proc, so a build's worker processes count too)."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float  # user + system
    rss_mb: float  # peak of the summed RSS over the process tree
    # user time alone: on these virtual machines the kernel's share swings severalfold from run to run
    # of the same work (creating files soon after others were deleted above all), the program's does not
    user: float = float("nan")


def _pss(pid: int) -> int:
    # PSS, not RSS: forked workers share the parent's pages, and summing their RSS would count them twice.
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss(root: int) -> int:
    """Summed PSS (bytes) of `root` and its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * PAGE
    total, wanted = 0, {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    if len(wanted) == 1:
        return rss.get(root, 0)
    for pid in wanted:
        total += _pss(pid)
    return total


def run(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, sync: bool = False
) -> Sample:
    """Run `cmd` to completion (its output discarded unless it fails) and measure it; with `sync`,
    after writing out every dirty page first: the previous program's writes are not this one's cost.

    os.wait4 gives this child's own rusage (its reaped descendants included), so CPU is exact per run."""
    if sync:
        subprocess.run(["sync"], check=True)
    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(SAMPLE_SECONDS):
                peak = max(peak, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err.read().decode()[-2000:]}"
            )
    # ru_maxrss (KiB) is the largest single process; the sampled tree PSS counts parallel workers too.
    return Sample(
        wall, usage.ru_utime + usage.ru_stime, max(peak, usage.ru_maxrss * 1024) / 2**20, usage.ru_utime
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def folder_size(path: Path) -> tuple[int, int, int]:
    """(documents, bytes, largest): .json and .geojson files under `path`, the bytes of every file, the
    largest file."""
    docs = size = largest = 0
    for root, _, files in os.walk(path, followlinks=True):
        for name in files:
            n = os.path.getsize(os.path.join(root, name))
            size, largest = size + n, max(largest, n)
            docs += name.endswith((".json", ".geojson"))
    return docs, size, largest


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so the output pastes straight into BENCHMARKS.md."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def largest_file(folder: Path) -> tuple[str, int]:
    """(name, bytes) of the largest file directly in `folder`; ("", 0) when it has none."""
    sizes = [(p.stat().st_size, p.name) for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    size, name = max(sizes, default=(0, ""))
    return name, size
