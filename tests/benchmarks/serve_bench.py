"""serve: wrk over the same document URLs against `transit-snapshot serve`, nginx, static_app.py and
dynamic_app.py, one server at a time, all on 127.0.0.1 with bounded durations."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from builder import manifest
from tests.benchmarks.feeds import BASELINES, REPO, Feed
from tests.benchmarks.measure import table
from tests.servers import free_port, running

WRK = shutil.which("wrk") or "/usr/bin/wrk"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OURS = str(Path(sys.executable).with_name("transit-snapshot"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
LUA = """
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float  # the server's peak RSS (VmHWM) after the run


def pick_urls(snapshot: Path, count: int) -> list[str]:
    """Every n-th trip and stop document of the manifest: the same list for every server."""
    paths = sorted(e.path for e in manifest.read(snapshot).entries if e.kind in ("trip", "stop"))
    step = max(1, len(paths) // count)
    return ["/" + p for p in paths[::step][:count]]


def nginx_config(snapshot_out: Path, port: int, prefix: Path) -> Path:
    """deploy/nginx.conf's server block, pointed at this output folder, inside a minimal main config."""
    server = (REPO / "deploy" / "nginx.conf").read_text()
    server = server.replace("/srv/transit-snapshot/output", str(snapshot_out)).replace(
        "127.0.0.1:8080", f"127.0.0.1:{port}")
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


def server_commands(out: Path, feed: Feed, port: int, prefix: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    uv = [UVICORN, "--app-dir", str(BASELINES), "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
          "--log-level", "warning"]
    env = dict(os.environ)
    return {
        "nginx": ([NGINX, "-p", str(prefix), "-c", str(nginx_config(out, port, prefix)), "-g", "daemon off;"], env),
        "ours (serve)": ([OURS, "serve", "--out", str(out), "--host", "127.0.0.1", "--port", str(port)], env),
        "static_app.py": ([*uv, "static_app:app"], {**env, "OUT": str(out / "current")}),
        "dynamic_app.py": ([*uv, "dynamic_app:app"], {**env, "DB": str(feed.db)}),
    }


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of the server and its children (nginx's worker)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        if int(entry.name) == pid or ppid == pid:
            m = re.search(r"VmHWM:\s+(\d+) kB", status)
            total += int(m.group(1)) if m else 0
    return total / 1024


def _ms(text: str, pct: str) -> float:
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk(port: int, urls: Path, script: Path, seconds: int, connections: int) -> tuple[float, float, float, int]:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency", "-s", str(script),
           f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, env={**os.environ, "BENCH_URLS": str(urls)}, capture_output=True, text=True,
                         check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    n_errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return rps, _ms(out, "50"), _ms(out, "99"), n_errors


def bench(feed: Feed, out: Path, work: Path, *, seconds: int, warmup: int, connections: int, count: int,
          only: list[str] | None = None) -> str:
    urls, script = work / "urls.txt", work / "urls.lua"
    urls.write_text("\n".join(pick_urls(out / "current", count)) + "\n")
    script.write_text(LUA)
    results: dict[str, Load] = {}
    port = free_port()
    prefix = work / "nginx"
    for name, (cmd, env) in server_commands(out, feed, port, prefix).items():
        if only and name not in only:
            continue
        with running(cmd, port, work / f"{name}.log", env) as proc:
            if warmup:
                wrk(port, urls, script, warmup, connections)
            rps, p50, p99, errors = wrk(port, urls, script, seconds, connections)
            results[name] = Load(rps, p50, p99, errors, _peak_rss_mb(proc.pid))
    nginx = results.get("nginx")
    rows = [[n, f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", r.errors, f"{r.rss_mb:.0f}",
             f"{r.rps / nginx.rps:.1%}" if nginx else "-"] for n, r in results.items()]
    title = (f"### serve: {feed.name}, {len(urls.read_text().split())} trip and stop URLs, wrk -t1 "
             f"-c{connections} -d{seconds}s")
    lines = [title, "",
             table(["server", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS MB", "of nginx"], rows), ""]
    if nginx:
        for name, r in results.items():
            if name != "nginx":
                lines.append(f"ratio {name}/nginx: req/s {r.rps / nginx.rps:.3f}x, p99 {r.p99_ms:.2f} ms")
    return "\n".join(lines) + "\n"
