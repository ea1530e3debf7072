"""Checks on a built snapshot that do not use builder code to decide what is right (the manifest is read
by the shared reader, builder.release.manifest, which only parses: every comparison here is the test's own)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from builder import models
from builder.release.manifest import Entry, read

# What a static host must send each file as, by extension: written out here, not taken from builder.snapshot.kinds.
MEDIA_TYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


def manifest(root: Path) -> list[Entry]:
    return list(read(root).entries)


def check_against_models(root: Path, entries: list[Entry]) -> None:
    """Each document fits its pydantic model exactly and validates against its published JSON Schema.

    A document dumped back from its model must give the same JSON: no field the model does not know,
    none of the wrong type, every always-present field there. In a snapshot of several feeds, a feed's
    documents validate against the schemas of its folder, the root's against the root's.
    """
    validators: dict[str, jsonschema.Draft202012Validator] = {}
    for entry in entries:
        if entry.kind not in models.DOCUMENT_MODELS:
            continue
        feed, _, rest = entry.path.partition("/")
        folder = f"feeds/{rest.partition('/')[0]}/" if feed == "feeds" else ""
        schema = f"{folder}schemas/{entry.kind}.schema.json"
        if schema not in validators:
            validators[schema] = jsonschema.Draft202012Validator(json.loads((root / schema).read_bytes()))
        raw = (root / entry.path).read_bytes()
        data = orjson.loads(raw)
        validators[schema].validate(data)
        model = models.DOCUMENT_MODELS[entry.kind].model_validate_json(raw)
        assert model.model_dump(mode="json", exclude_unset=True) == data, entry.path


def check_hashes_and_hrefs(root: Path) -> None:
    entries = manifest(root)
    listed = {e.path for e in entries}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert on_disk - listed == {"manifest.json", "build-info.json"}
    raw = json.loads((root / "manifest.json").read_bytes())["documents"]
    assert all("media_type" in e for e in raw), "every manifest entry names its media type"
    for e in entries:
        data = (root / e.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e.sha256 and len(data) == e.bytes, e.path
        assert e.media_type == MEDIA_TYPES["." + e.path.rsplit(".", 1)[-1]], e.path
        for href in _hrefs(orjson.loads(data)):
            assert href in listed, f"{e.path}: href {href!r} resolves to no document"


def _hrefs(value: Any) -> list[str]:
    if isinstance(value, dict):
        # feed.json's departures href is a template ({date}, {stop_key}), not a document
        href = value.get("href")
        found = [href] if isinstance(href, str) and "{" not in href else []
        return found + [h for k, v in value.items() if k != "href" for h in _hrefs(v)]
    if isinstance(value, list):
        return [h for v in value for h in _hrefs(v)]
    return []
