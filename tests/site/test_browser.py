"""The website in a real browser: Debian's chromium driven by Playwright, over `serve` (a real uvicorn
process), nginx with deploy/nginx.conf, and `file://`.

Each page kind loads with no console error and no failed request, the route page's tables hold every
trip, the stop page's date picker and "next departures" view change its board, the search finds a stop,
links resolve, axe-core finds no serious or critical violation, and screenshots of each page kind at
390 and 1280 px are written to ARTIFACTS for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

import orjson
import pytest

from tests.conftest import REPO
from tests.delivery.servers import serving
from tests.servers import free_port, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = (
    Path(
        os.environ.get("TRANSIT_SNAPSHOT_AXE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transit-snapshot" / "axe-core"
    )
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
ARTIFACTS = Path(os.environ.get("TRANSIT_SNAPSHOT_ARTIFACTS") or REPO / "artifacts") / "site-screenshots"
NGINX = Path("/usr/sbin/nginx")
PAGES = {"index": "index.html", "route": "routes/!b41.html", "stop": "stops/HBF.html"}
WIDTHS = (390, 1280)
ZONE = ZoneInfo("Europe/Berlin")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"chromium is not installed ({CHROMIUM} is "
    "absent; scripts/setup-system installs Debian's chromium package)",
)


@dataclass
class Watched:
    """A page and everything that went wrong while it loaded and ran."""

    page: Any
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=["serve", "nginx", "file"])
def origin(
    request: pytest.FixtureRequest, site_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of the sample release built with --site (tests/site/conftest.py), as each host serves it."""
    out = site_build.parent
    logs = tmp_path_factory.mktemp(f"browser-{request.param}")
    if request.param == "file":
        yield site_build.resolve().as_uri() + "/"
    elif request.param == "serve":
        with serving(out, logs / "serve.log") as port:
            yield f"http://127.0.0.1:{port}/"
    else:
        if not NGINX.exists():
            pytest.skip(f"nginx is not installed ({NGINX} is absent; scripts/setup-system installs it)")
        from tests.delivery.test_nginx import MAIN_CONF, TEMPLATE, render

        port = free_port()
        (logs / "server.conf").write_text(render(TEMPLATE.read_text(), out, port))
        (logs / "nginx.conf").write_text(MAIN_CONF.format(prefix=logs))
        command = [str(NGINX), "-p", str(logs), "-c", str(logs / "nginx.conf"), "-g", "daemon off;"]
        with running(command, port, logs / "stderr.log"):
            yield f"http://127.0.0.1:{port}/"


def open_page(
    browser: Any, url: str, *, width: int = 1280, at: datetime | None = None, javascript: bool = True
) -> Watched:
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    watched = Watched(page)
    page.on(
        "console",
        lambda m: (
            watched.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: watched.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: watched.problems.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: watched.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    if at is not None:
        page.clock.set_fixed_time(at)
    page.goto(url, wait_until="load")
    return watched


def board(release: Path, date: str, key: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((release / "departures" / date / f"{key}.json").read_bytes())
    return doc


def row_texts(page: Any) -> list[str]:
    texts: list[str] = page.locator("#board tbody tr td:first-child").all_inner_texts()
    return texts


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_browser_page_loads_without_errors_and_is_screenshotted(
    browser: Any, origin: str, kind: str, request: pytest.FixtureRequest
) -> None:
    host = request.node.callspec.params["origin"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        watched = open_page(browser, origin + PAGES[kind], width=width)
        assert watched.page.locator("h1").count() == 1
        watched.page.screenshot(path=ARTIFACTS / f"{kind}-{width}-{host}.png", full_page=True)
        assert watched.problems == [], (kind, width)
        watched.page.context.close()


def test_browser_route_tables_hold_every_trip(browser: Any, origin: str, site_build: Path) -> None:
    tree = orjson.loads((site_build / "routes" / "!b41.json").read_bytes())
    watched = open_page(browser, origin + PAGES["route"])
    shown = watched.page.locator("table.tt thead th[data-trip]").evaluate_all(
        "cells => cells.map(c => c.dataset.trip)"
    )
    assert sorted(shown) == sorted(t["trip_id"] for t in tree["trips"])
    timetable = orjson.loads((site_build / "timetables" / "!b41.json").read_bytes())["timetables"][0]
    first_row = watched.page.locator("table.tt").first.locator("tbody tr").first
    assert first_row.locator("th").inner_text() == timetable["stops"][0]["stop_name"]
    assert first_row.locator("td").all_inner_texts() == [
        (t["times"][0] or "")[:5] for t in timetable["trips"]
    ]
    assert (
        watched.page.get_by_text("every 10 minutes").count()
        + watched.page.get_by_text("every 15 minutes").count()
        + watched.page.get_by_text("every 20 minutes").count()
        >= 1
    )
    assert watched.problems == []
    watched.page.context.close()


def test_browser_stop_board_follows_the_date_picker_and_now(
    browser: Any, origin: str, site_build: Path
) -> None:
    window = orjson.loads((site_build / "feed.json").read_bytes())["departures"]
    first, second = window["from"], str(int(window["from"]) + 1)
    now = datetime(2026, 3, 7, 7, 0, tzinfo=ZONE)
    watched = open_page(browser, origin + PAGES["stop"], at=now)
    page = watched.page
    times = [d["departure"][11:16] for d in board(site_build, first, "HBF")["departures"]]
    assert row_texts(page) == times and times
    page.select_option("#board-date", second)
    expected = [d["departure"][11:16] for d in board(site_build, second, "HBF")["departures"]]
    assert row_texts(page) == expected and expected != times
    assert str(len(expected)) in page.locator("#board-caption").inner_text()
    page.get_by_role("button", name="Next departures from now").click()
    dates = [str(int(first) + n) for n in range(window["days"])]  # the window stays within March
    upcoming = sorted(
        (d["departure"], d["departure"][11:16])
        for date in dates
        for d in board(site_build, date, "HBF")["departures"]
        if d["departure"] >= now.isoformat()
    )
    shown = row_texts(page)
    assert [t.split(" ")[-1] for t in shown] == [t for _, t in upcoming[:10]] and shown
    assert shown[0].startswith("Sat ")
    assert watched.problems == []
    watched.page.context.close()


def test_browser_stop_page_shows_the_first_board_without_javascript(
    browser: Any, origin: str, site_build: Path
) -> None:
    window = orjson.loads((site_build / "feed.json").read_bytes())["departures"]
    watched = open_page(browser, origin + PAGES["stop"], javascript=False)
    expected = [d["departure"][11:16] for d in board(site_build, window["from"], "HBF")["departures"]]
    assert row_texts(watched.page) == expected
    assert not watched.page.locator("#board-controls").is_visible()
    watched.page.context.close()


def test_browser_search_finds_a_stop_by_part_of_its_name(browser: Any, origin: str) -> None:
    watched = open_page(browser, origin + PAGES["index"])
    page = watched.page
    page.fill("#stop-query", "arket")
    result = page.locator("#stop-results a")
    assert result.all_inner_texts() == ["Market Street"]
    page.fill("#stop-query", "lakeside gleis")
    assert sorted(result.all_inner_texts()) == ["Lakeside Hbf, Gleis 1", "Lakeside Hbf, Gleis 2"]
    page.fill("#stop-query", "fahranleger")  # accents folded: Fähranleger
    result.first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/stops/007.html")
    assert page.locator("h1").inner_text() == "Fähranleger"
    assert watched.problems == []
    watched.page.context.close()


def test_browser_links_between_pages_resolve(browser: Any, origin: str) -> None:
    for kind, path in PAGES.items():
        watched = open_page(browser, origin + path)
        # the map's links are SVG <a> elements, whose .href is not a string: resolve the attribute
        links = watched.page.locator("a[href]").evaluate_all(
            "links => links.map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
        )
        inside = sorted({link.split("#")[0] for link in links if link.startswith(origin)})
        assert inside, kind
        for link in inside:
            if origin.startswith("file:"):
                assert Path(unquote(urlparse(link).path)).is_file(), (kind, link)
            else:
                assert watched.page.request.get(link).status == 200, (kind, link)
        watched.page.context.close()


def test_browser_pages_pass_the_accessibility_audit(browser: Any, site_build: Path, tmp_path: Path) -> None:
    """The audit is of the pages, the same bytes from every host: run once, over serve."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE} is absent; scripts/setup-axe installs it)")
    with serving(site_build.parent, tmp_path / "serve.log") as port:
        for kind, path in PAGES.items():
            for width in WIDTHS:
                watched = open_page(browser, f"http://127.0.0.1:{port}/{path}", width=width)
                watched.page.add_script_tag(path=str(AXE))
                violations = watched.page.evaluate(
                    "async () => (await axe.run()).violations.map(v => [v.id, v.impact, v.nodes.length])"
                )
                assert [v for v in violations if v[1] in ("serious", "critical")] == [], (
                    kind,
                    width,
                    violations,
                )
                watched.page.context.close()
