"""Reading the release's own JSON documents back for the pages, so HTML and JSON never disagree.

The site is made from the files the build has just written into its staging folder, not from the
database. Route trees and stop views can be megabytes, almost all of it their `trips`; the pages only
need what comes before. Documents are written with sorted keys and `trips` sorts last, so the head is
everything before the first top-level `,"trips":` (which cannot occur inside a JSON string, where `"` is
escaped); when the cut is not at the top level (a custom column named `trips`), the head does not parse
and the whole document is read instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from builder.errors import BuildError

Doc = dict[str, Any]
CHUNK = 16 * 1024  # a head is a few kB (mta_bus_brooklyn's stops: 2.6 kB median, 9.8 kB at most)
TRIPS_MARK = b',"trips":'


@dataclass(frozen=True)
class Release:
    """A folder of documents (the staging folder during a build), read by their hrefs."""

    root: Path

    def exists(self, href: str) -> bool:
        return (self.root / href).is_file()

    def read(self, href: str) -> Doc:
        try:
            data = (self.root / href).read_bytes()
        except OSError as exc:
            raise BuildError(f"the site needs {href}, which the build did not write: {exc.strerror}") from exc
        return _parse(href, data)

    def read_optional(self, href: str) -> Doc | None:
        # one open instead of a stat and an open: a week of boards is seven reads for every stop page
        try:
            with open(f"{self.root}/{href}", "rb") as f:  # no pathlib: thousands of small reads
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BuildError(f"the site cannot read {href}: {exc.strerror}") from exc
        return _parse(href, data)

    def read_head(self, href: str) -> Doc:
        """Every top-level key but `trips` (see the module docstring)."""
        head = bytearray()
        with open(self.root / href, "rb") as f:
            while chunk := f.read(CHUNK):
                start = max(0, len(head) - len(TRIPS_MARK))
                head += chunk
                cut = head.find(TRIPS_MARK, start)
                if cut >= 0:
                    try:
                        doc: Doc = orjson.loads(bytes(head[:cut]) + b"}")
                        return doc
                    except orjson.JSONDecodeError:
                        break
        return self.read(href)


def _parse(href: str, data: bytes) -> Doc:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BuildError(f"the site cannot read {href}: {exc}") from exc
    if not isinstance(doc, dict):
        raise BuildError(f"the site cannot read {href}: not a JSON object")
    return doc


def page_of(href: str) -> str:
    """The page of a document: `routes/B41.json` -> `routes/B41.html`."""
    stem, dot, _ = href.rpartition(".")
    return f"{stem}.html" if dot else f"{href}.html"


def sibling(href: str, folder: str, extension: str) -> str:
    """Another kind's document for the same key: `routes/B41.json` -> `timetables/B41.json` (in the
    same feed's folder: `feeds/bx/routes/B41.json` -> `feeds/bx/timetables/B41.json`)."""
    feed_folder, _, name = href.rpartition("/")
    feed_folder = feed_folder.rpartition("/")[0]
    key = name.rpartition(".")[0]
    return f"{feed_folder}/{folder}/{key}{extension}" if feed_folder else f"{folder}/{key}{extension}"
