"""serve: wrk over the same document URLs against `transit-snapshot serve`, nginx, static_app.py and
dynamic_app.py, one server at a time, all on 127.0.0.1 with bounded durations.

Three kinds of working set, each a list of URLs wrk requests in a cycle:
- A: the first 2,000 trip and 1,000 stop documents by path (hart_tampa: 64.3 MiB, just over the default
  64 MiB cache: where a plain LRU serves nothing from memory);
- B: 3,000 trip and stop documents spread evenly over the manifest (43.7 MiB);
- the cache-overflow pair: documents spread over a pool, 0.75x the cache budget ("fits") and 4x it
  ("overflow"), same size distribution. 4x the default budget is 256 MiB, more trip and stop bytes
  than hart_tampa has, so the pool is the release twice: under `current` and hard-linked under a second
  build id, served pinned (`/releases/<id>/...`). Every URL is a distinct cache entry; the file bytes
  come from the same page cache either way.

Each (server, set) pair gets a fresh server process, so every set starts from an empty cache and the
peak RSS is that set's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from builder.release import manifest
from serve.app import DEFAULT_CACHE_BYTES
from tests.benchmarks.feeds import BASELINES, FEEDS, REPO, Feed
from tests.benchmarks.measure import table
from tests.servers import free_port, running

WRK = shutil.which("wrk") or "/usr/bin/wrk"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OURS = str(Path(sys.executable).with_name("transit-snapshot"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
TICK = os.sysconf("SC_CLK_TCK")
LUA = """
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
"""
# Our app through the library, for what the CLI does not expose: another cache budget.
LIBRARY = (
    "import sys; from pathlib import Path; from serve.app import run; "
    "run(out_dir=Path(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), cache_bytes=int(sys.argv[3]))"
)
BASELINE_SETS = ("A", "B")  # static_app.py and dynamic_app.py are too slow to be worth the overflow pair
FIT_SHARE, OVERFLOW_SHARE = 0.75, 4.0


@dataclass(frozen=True)
class UrlSet:
    name: str
    description: str
    urls: list[str]
    size: int  # bytes of the documents, each counted once


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float  # the server's peak RSS (VmHWM, summed over its processes) after the run
    cpu_us: float  # server CPU time (user + system, all its processes) per request


def build_snapshot(feed: Feed, out: Path, work: Path) -> Path:
    """Import the feed's zip and build it with our CLI; then the pinned copy under a second build id."""
    db = work / f"serve-{feed.name}.sqlite"
    db.unlink(missing_ok=True)
    zip_path = FEEDS / f"{feed.name}.zip"
    source = str(zip_path) if zip_path.exists() else str(feed.folder)
    subprocess.run([OURS, "import", source, "--db", f"sqlite:///{db}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([OURS, "build", "--quiet", "--db", f"sqlite:///{db}", "--out", str(out)], check=True)
    db.unlink()
    current = (out / "current").resolve()
    twin = current.with_name(current.name[::-1] if current.name[::-1] != current.name else "f" * 16)
    shutil.copytree(current, twin, copy_function=os.link)
    return twin


def _documents(release: Path) -> dict[str, tuple[str, int]]:
    return {e.path: (e.kind, e.bytes) for e in manifest.read(release).entries}


def url_sets(out: Path, twin: Path, count: int, budget: int) -> list[UrlSet]:
    docs = _documents(out / "current")
    trips = sorted(p for p, (kind, _) in docs.items() if kind == "trip")
    stops = sorted(p for p, (kind, _) in docs.items() if kind == "stop")

    def make(name: str, description: str, urls: list[str]) -> UrlSet:
        size = sum(docs[u.split("/", 3)[-1] if u.startswith("/releases/") else u[1:]][1] for u in urls)
        return UrlSet(name, description, urls, size)

    first = trips[: count * 2 // 3] + stops[: count // 3]
    both = sorted(trips + stops)
    step = max(1, len(both) // count)
    pool = [u for p in both for u in (f"/{p}", f"/releases/{twin.name}/{p}")]
    sizes = [docs[p][1] for p in both for _ in (0, 1)]
    sets = [
        make(
            "A",
            f"first {count * 2 // 3:,} trip and {count // 3:,} stop documents by path",
            ["/" + p for p in first],
        ),
        make(
            "B",
            f"{count:,} trip and stop documents spread over the manifest",
            ["/" + p for p in both[::step][:count]],
        ),
    ]
    for name, share in (("fits", FIT_SHARE), ("overflow", OVERFLOW_SHARE)):
        urls = _spread(pool, sizes, int(budget * share))
        if urls:
            sets.append(
                make(
                    name,
                    f"{share:g}x the {budget / 2**20:g} MiB cache budget, spread over "
                    f"`current` and a pinned copy",
                    urls,
                )
            )
    return sets


def _spread(pool: list[str], sizes: list[int], target: int) -> list[str] | None:
    """About `target` bytes of URLs picked evenly over `pool`; None if the pool is too small."""
    total = sum(sizes)
    if total < target:
        return None
    n = max(1, round(len(pool) * target / total))
    return [pool[i * len(pool) // n] for i in range(n)]


def nginx_config(snapshot_out: Path, port: int, prefix: Path) -> Path:
    """deploy/nginx.conf's server block, pointed at this output folder, inside a minimal main config."""
    server = (REPO / "deploy" / "nginx.conf").read_text()
    server = server.replace("/srv/transit-snapshot/output", str(snapshot_out)).replace(
        "127.0.0.1:8080", f"127.0.0.1:{port}"
    )
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "server.conf").write_text(server)
    conf = prefix / "nginx.conf"
    conf.write_text(f"""user root;
worker_processes 1;
error_log {prefix}/logs/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp; fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
    include {prefix}/server.conf;
}}
""")
    return conf


def server_commands(
    out: Path, feed: Feed, port: int, prefix: Path, budget: int
) -> dict[str, tuple[list[str], dict[str, str]]]:
    uv = [
        UVICORN,
        "--app-dir",
        str(BASELINES),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    env = dict(os.environ)
    ours = [OURS, "serve", "--out", str(out), "--host", "127.0.0.1", "--port", str(port)]
    if budget != DEFAULT_CACHE_BYTES:
        ours = [sys.executable, "-c", LIBRARY, str(out), str(port), str(budget)]
    return {
        "nginx": (
            [NGINX, "-p", str(prefix), "-c", str(nginx_config(out, port, prefix)), "-g", "daemon off;"],
            env,
        ),
        "ours (serve)": (ours, {**env, "PYTHONPATH": str(REPO)}),
        "ours, no cache": (
            [sys.executable, "-c", LIBRARY, str(out), str(port), "0"],
            {**env, "PYTHONPATH": str(REPO)},
        ),
        "static_app.py": ([*uv, "static_app:app"], {**env, "OUT": str(out / "current")}),
        "dynamic_app.py": ([*uv, "dynamic_app:app"], {**env, "DB": str(feed.db)}),
    }


def _tree(pid: int) -> list[str]:
    """/proc/<pid>/stat of the server and its children (nginx's worker)."""
    stats = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry.name) == pid or int(fields[1]) == pid:
            stats.append(entry.name)
    return stats


def _cpu_seconds(pid: int) -> float:
    total = 0
    for child in _tree(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def _peak_rss_mb(pid: int) -> float:
    total = 0
    for child in _tree(pid):
        try:
            m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{child}/status").read_text())
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total / 1024


def _ms(text: str, pct: str) -> float:
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk(
    port: int, urls: Path, script: Path, seconds: int, connections: int
) -> tuple[float, float, float, int]:
    cmd = [
        WRK,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(
        cmd,
        env={**os.environ, "BENCH_URLS": str(urls)},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    n_errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return rps, _ms(out, "50"), _ms(out, "99"), n_errors


def measure(
    cmd: list[str],
    env: dict[str, str],
    port: int,
    urls: Path,
    script: Path,
    log: Path,
    *,
    seconds: int,
    warmup: int,
    connections: int,
) -> Load:
    with running(cmd, port, log, env) as proc:
        if warmup:
            wrk(port, urls, script, warmup, connections)
        cpu = _cpu_seconds(proc.pid)
        rps, p50, p99, errors = wrk(port, urls, script, seconds, connections)
        cpu = _cpu_seconds(proc.pid) - cpu
        return Load(rps, p50, p99, errors, _peak_rss_mb(proc.pid), cpu * 1e6 / max(rps * seconds, 1))


def bench(
    feed: Feed,
    out: Path,
    work: Path,
    *,
    seconds: int,
    warmup: int,
    connections: int,
    count: int,
    budget: int = DEFAULT_CACHE_BYTES,
    only: list[str] | None = None,
) -> str:
    twin = build_snapshot(feed, out, work)
    script = work / "urls.lua"
    script.write_text(LUA)
    port = free_port()
    commands = server_commands(out, feed, port, work / "nginx", budget)
    results: dict[str, dict[str, Load]] = {}
    sets = url_sets(out, twin, count, budget)
    for url_set in sets:
        urls = work / f"urls-{url_set.name}.txt"
        urls.write_text("\n".join(url_set.urls) + "\n")
        for name, (cmd, env) in commands.items():
            if (only and name not in only) or (name.endswith(".py") and url_set.name not in BASELINE_SETS):
                continue
            results.setdefault(url_set.name, {})[name] = measure(
                cmd,
                env,
                port,
                urls,
                script,
                work / f"{name}.log",
                seconds=seconds,
                warmup=warmup,
                connections=connections,
            )
    return report(feed, sets, results, seconds=seconds, connections=connections)


def report(
    feed: Feed, sets: list[UrlSet], results: dict[str, dict[str, Load]], *, seconds: int, connections: int
) -> str:
    lines = [f"### serve: {feed.name}, wrk -t1 -c{connections} -d{seconds}s", ""]
    for url_set in sets:
        measured = results.get(url_set.name, {})
        nginx = measured.get("nginx")
        heading = (
            f"#### set {url_set.name}: {url_set.description} ({len(url_set.urls):,} URLs, "
            f"{url_set.size / 2**20:.1f} MiB, mean {url_set.size / len(url_set.urls) / 1024:.1f} KiB)"
        )
        lines += [heading, ""]
        rows = [
            [
                n,
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                r.errors,
                f"{r.rss_mb:.0f}",
                f"{r.cpu_us:.1f}",
                f"{r.rps / nginx.rps:.1%}" if nginx else "-",
            ]
            for n, r in measured.items()
        ]
        lines += [
            table(
                ["server", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS MB", "CPU µs/req", "of nginx"],
                rows,
            ),
            "",
        ]
        if nginx:
            for name, r in measured.items():
                if name != "nginx":
                    lines.append(
                        f"ratio {name}/nginx on {url_set.name}: req/s {r.rps / nginx.rps:.3f}x, "
                        f"p99 {r.p99_ms:.2f} ms"
                    )
            lines.append("")
    fits, overflow = results.get("fits", {}), results.get("overflow", {})
    for name in overflow:
        if name in fits:
            lines.append(
                f"ratio overflow/fits for {name}: req/s {overflow[name].rps / fits[name].rps:.3f}x, "
                f"CPU/req {overflow[name].cpu_us / fits[name].cpu_us:.3f}x"
            )
    return "\n".join(lines) + "\n"
