"""python -m tests.benchmarks build|import|serve|site|region [--feeds a,b] [--runs N] [--smoke] [--work DIR]

Every program runs in its own subprocess, on the same machine and the same load_gtfs.py database, in one
run; each table is printed as Markdown with the ratio lines under it (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.benchmarks import build_bench, import_bench, nyfeeds, region_bench, serve_bench, site_bench
from tests.benchmarks.feeds import SMOKE_FEED, prepare, require_shared
from tests.pg import PostgresServer, postgres_bin


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    require_shared()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    runs = {"serve": "one run per server and set", "region": "one run"}.get(args.command, f"{args.runs} runs")
    print(f"## {args.command} ({'smoke, ' if args.smoke else ''}{runs}) on {machine()}\n", flush=True)
    if args.command == "build":
        if not args.smoke:
            build_bench.settle(work)
        try:
            run_build(args, work)
        finally:
            build_bench.remove_outputs(work)
    elif args.command == "import":
        with postgres(args.postgres):
            for name in args.feeds:
                print(import_bench.bench(prepare(name, work), work, args.runs), flush=True)
    elif args.command == "region":
        if not args.smoke:
            build_bench.settle(work)
        try:
            print(region_bench.bench(region_settings(args), work), flush=True)
        finally:
            build_bench.remove_outputs(work)
    elif args.command == "site":
        if not args.smoke:
            build_bench.settle(work)
        try:
            for name in args.feeds:
                print(site_bench.bench(name, work, args.runs, args.smoke), flush=True)
        finally:
            build_bench.remove_outputs(work)
    else:
        run_serve(args, work)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("command", choices=["build", "import", "serve", "site", "region"])
    p.add_argument("--feeds", help="comma-separated feed names from ../shared/feeds")
    p.add_argument("--runs", type=int, default=3, help="runs per program; medians are reported")
    p.add_argument(
        "--naive-feeds",
        default="hart_tampa",
        help="feeds naive_build.py runs on, once each (it takes minutes on mta_bus_brooklyn)",
    )
    p.add_argument(
        "--rss-feeds",
        default="caltrain,hart_tampa,mta_bus_brooklyn",
        help="feeds for the RSS-against-feed-size table ('' to skip)",
    )
    p.add_argument(
        "--ours-workers",
        default="2,1",
        help="build: our build once per worker count (the first is the one the ratios use)",
    )
    p.add_argument("--seconds", type=int, default=10, help="serve: wrk duration per server")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument(
        "--urls", type=int, default=3000, help="serve: how many trip and stop documents in sets A, B"
    )
    p.add_argument(
        "--cache-mb",
        type=float,
        default=serve_bench.DEFAULT_CACHE_BYTES / 2**20,
        help="serve: our cache budget; the overflow pair is 0.75x and 4x it (default: serve's)",
    )
    p.add_argument(
        "--postgres",
        action="store_true",
        help=f"import: also into a throwaway PostgreSQL server started from Debian's binaries "
        f"(or into ${import_bench.PG_ENV} when set)",
    )
    p.add_argument(
        "--tiers",
        help="region: the multi-feed snapshots, comma-separated sets of feeds joined by '+' ('all': every "
        "one of --feeds); the last is the one measured against the single-feed builds "
        "(default: lirr+subway,bus_bk,all; --smoke: all)",
    )
    p.add_argument(
        "--same-feeds",
        help="region: feeds whose folder in the last snapshot must equal their single-feed build "
        "(default: bus_bk; --smoke: both)",
    )
    p.add_argument(
        "--sample", type=int, help="region: oracle.py --sample per feed (default 100; --smoke: 20)"
    )
    p.add_argument("--smoke", action="store_true", help=f"a quick pass on {SMOKE_FEED}: 1 run, 1 s of wrk")
    p.add_argument("--work", default="/tmp/transit-snapshot-bench", help="feeds, databases and outputs")
    args = p.parse_args(argv)
    default = {
        "build": "hart_tampa,mta_bus_brooklyn",
        "import": "mta_bus_brooklyn",
        "serve": "hart_tampa",
        "site": "caltrain,hart_tampa,mta_bus_brooklyn",
        "region": ",".join(nyfeeds.FOLDERS),
    }
    if args.smoke:
        args.feeds, args.runs, args.seconds, args.urls, args.cache_mb = SMOKE_FEED, 1, 1, 200, 0.5
        args.naive_feeds, args.rss_feeds = SMOKE_FEED, SMOKE_FEED
        if args.command == "region":  # two feeds: the smallest of New York's and caltrain
            args.feeds = "lirr,caltrain"
    small = args.smoke and args.command == "region"
    args.tiers = args.tiers or ("all" if small else "lirr+subway,bus_bk,all")
    args.same_feeds = (
        args.same_feeds if args.same_feeds is not None else ("lirr,caltrain" if small else "bus_bk")
    )
    args.sample = args.sample or (20 if small else 100)
    args.feeds = (args.feeds or default[args.command]).split(",")
    args.naive_feeds = [f for f in args.naive_feeds.split(",") if f]
    args.rss_feeds = [f for f in args.rss_feeds.split(",") if f]
    args.ours_workers = [int(w) for w in args.ours_workers.split(",")]
    return args


@contextmanager
def postgres(wanted: bool) -> Iterator[None]:
    """With `wanted` and no database named in the environment, a temporary server for the import."""
    if not wanted or os.environ.get(import_bench.PG_ENV):
        yield
        return
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("--postgres needs Debian's postgresql (scripts/setup-system installs it)")
    server = PostgresServer(bin_dir)
    server.start()
    os.environ[import_bench.PG_ENV] = server.new_database()
    try:
        yield
    finally:
        del os.environ[import_bench.PG_ENV]
        server.stop()


def region_settings(args: argparse.Namespace) -> region_bench.Settings:
    tiers = tuple(
        tuple(args.feeds) if tier == "all" else tuple(tier.split("+")) for tier in args.tiers.split(",")
    )
    unknown = sorted({f for t in tiers for f in t} - set(args.feeds))
    if unknown or set(tiers[-1]) != set(args.feeds):
        raise SystemExit(f"--tiers: the last must be every one of --feeds ({unknown or tiers[-1]} is not)")
    return region_bench.Settings(
        feeds=tuple(args.feeds),
        tiers=tiers,
        same=tuple(f for f in args.same_feeds.split(",") if f),
        sample=args.sample,
        workers=args.ours_workers[0],
        smoke=args.smoke,
    )


def run_build(args: argparse.Namespace, work: Path) -> None:
    measured = {}
    for name in args.feeds:
        feed = prepare(name, work)
        results = build_bench.bench_feed(
            feed, work, args.runs, 1 if name in args.naive_feeds else 0, args.ours_workers
        )
        measured[name] = next(iter(results.values()))
        print(build_bench.report(feed, results), flush=True)
        boards = build_bench.ours(args.ours_workers[0], boards=True)
        if boards.name in results:
            release = boards.written(build_bench.output_of(boards, feed, 0, work))
            print(
                f"#### {feed.name}: document sizes (ours+boards)\n\n{build_bench.board_sizes(release)}\n",
                flush=True,
            )
    if args.rss_feeds:
        feeds = [prepare(name, work) for name in args.rss_feeds]
        print(build_bench.rss_against_size(feeds, measured, work, args.ours_workers[0]), flush=True)


def run_serve(args: argparse.Namespace, work: Path) -> None:
    missing = [tool for tool in (serve_bench.WRK, serve_bench.NGINX) if not Path(tool).exists()]
    if missing:
        raise SystemExit(f"serve needs {', '.join(missing)} (apt-get install wrk nginx)")
    for name in args.feeds:
        feed = prepare(name, work)  # load_gtfs.py's database, for dynamic_app.py
        out = work / f"serve-{name}"
        shutil.rmtree(out, ignore_errors=True)
        try:
            print(
                serve_bench.bench(
                    feed,
                    out,
                    work,
                    seconds=args.seconds,
                    warmup=0 if args.smoke else 2,
                    connections=args.connections,
                    count=args.urls,
                    budget=int(args.cache_mb * 2**20),
                ),
                flush=True,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs, {mem:.0f} GiB, Python {platform.python_version()}, {platform.platform()}"


if __name__ == "__main__":
    main(sys.argv[1:])
