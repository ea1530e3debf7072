"""The README's screenshots of the three page kinds: `python -m tests.site.readme_screenshots`.

Builds the sample feed with --site (boards from 2026-03-06, as the tests do) in a temporary folder,
and photographs index.html (with a search typed), a route page and a stop page with Debian's chromium
into docs/screenshots/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from builder.importer.run import import_feed
from tests.conftest import REPO, SAMPLE_FEED
from tests.site.conftest import site_release
from tests.site.test_browser import CHROMIUM, CHROMIUM_ARGS

TARGET = REPO / "docs" / "screenshots"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'sample.sqlite'}"
        import_feed(SAMPLE_FEED, db_url=url)
        base = site_release(url, Path(tmp) / "out").resolve().as_uri() + "/"
        TARGET.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, path, width in (
                ("index", "index.html", 1280),
                ("route", "routes/!b41.html", 390),
                ("stop", "stops/HBF.html", 390),
            ):
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.goto(base + path)
                if name == "index":
                    page.fill("#stop-query", "lakeside")
                page.screenshot(path=TARGET / f"{name}.png", full_page=name != "index")
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
