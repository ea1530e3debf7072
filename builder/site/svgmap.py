"""A route's map as inline SVG, drawn from its GeoJSON: no tiles, no third-party script, works offline.

Coordinates are projected equirectangularly (longitude scaled by the cosine of the middle latitude,
right for the few kilometres a route spans) into a box WIDTH units wide, rounded to whole units, and
consecutive points that round to the same unit are dropped: a shape of 100,000 points becomes at most
a few thousand, so the page stays small whatever the feed's resolution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape

from builder.site.reader import Doc, page_of

WIDTH = 1000
PAD = 24
MIN_HEIGHT = 240
MAX_HEIGHT = 700
DEFAULT_COLOR = "1565C0"
_HEX = re.compile(r"[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class Projection:
    west: float
    north: float
    scale: float  # units per degree of latitude
    cos_lat: float
    height: int

    def xy(self, lon: float, lat: float) -> tuple[int, int]:
        return (
            round(PAD + (lon - self.west) * self.cos_lat * self.scale),
            round(PAD + (self.north - lat) * self.scale),
        )


def colour(value: object, default: str = DEFAULT_COLOR) -> str:
    """A GTFS colour (`E53935`) as CSS, or the default when it is missing or not a colour."""
    return "#" + (value if isinstance(value, str) and _HEX.fullmatch(value) else default).upper()


def _luminance(css: str) -> float:
    channels = [int(css[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two CSS colours `#RRGGBB`, from 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(route: dict[str, object]) -> str:
    """The route's text colour on its colour when riders can read it (WCAG AA, 4.5:1); else black or
    white, whichever reads better. Feeds often pair white with mid-tones (#1E88E5: 3.7:1)."""
    return _text_on(route.get("route_color"), route.get("route_text_color"))


@cache  # every stop page's badges: a feed has a few colour pairs, its pages thousands of badges
def _text_on(route_color: object, route_text_color: object) -> str:
    background, text = colour(route_color), colour(route_text_color, "FFFFFF")
    if contrast(background, text) >= 4.5:
        return text
    return max(("#000000", "#FFFFFF"), key=lambda c: contrast(background, c))


def projection(points: Iterable[tuple[float, float]]) -> Projection | None:
    lons, lats = [], []
    for lon, lat in points:
        lons.append(lon)
        lats.append(lat)
    if not lons:
        return None
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    cos_lat = math.cos(math.radians((north + south) / 2)) or 1.0
    span_x, span_y = (east - west) * cos_lat, north - south
    inner = WIDTH - 2 * PAD
    scale = inner / max(span_x, span_y * inner / (MAX_HEIGHT - 2 * PAD), 1e-9)
    height = max(MIN_HEIGHT, round(span_y * scale) + 2 * PAD)
    # a flat (east-west) route is centred in the minimum height
    north += (height - 2 * PAD - span_y * scale) / 2 / scale
    return Projection(west, north, scale, cos_lat, height)


def _coordinates(features: list[Doc]) -> Iterator[tuple[float, float]]:
    for feature in features:
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "LineString":
            for lon, lat, *_ in geometry["coordinates"]:
                yield lon, lat
        elif geometry.get("type") == "Point":
            lon, lat, *_ = geometry["coordinates"]
            yield lon, lat


def _polyline(coordinates: list[list[float]], proj: Projection) -> str:
    points: list[str] = []
    last = None
    for lon, lat, *_ in coordinates:
        xy = proj.xy(lon, lat)
        if xy != last:
            points.append(f"{xy[0]},{xy[1]}")
            last = xy
    return " ".join(points)


def route_map(geojson: Doc, route_color: object, root: str, title: str) -> Markup | None:
    """The SVG element; None when the GeoJSON has nothing to draw."""
    features = geojson.get("features") or []
    proj = projection(_coordinates(features))
    if proj is None:
        return None
    stroke = colour(route_color)
    out = [
        f'<svg class="map" viewBox="0 0 {WIDTH} {proj.height}" role="group" aria-labelledby="map-title">',
        f'<title id="map-title">{escape(title)}</title>',
    ]
    for feature in features:
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "LineString":
            dashed = ' stroke-dasharray="8 6"' if (feature.get("properties") or {}).get("from_stops") else ""
            out.append(
                f'<polyline points="{_polyline(geometry["coordinates"], proj)}" stroke="{stroke}"{dashed}/>'
            )
    for feature in features:
        geometry, props = feature.get("geometry") or {}, feature.get("properties") or {}
        if geometry.get("type") == "Point":
            x, y = proj.xy(*geometry["coordinates"][:2])
            name = escape(props.get("stop_name") or props.get("stop_id") or "")
            dot = f'<circle cx="{x}" cy="{y}" r="7"/><title>{name}</title>'
            href = props.get("href")
            out.append(
                f'<a href="{escape(root + page_of(href))}" aria-label="{name}">{dot}</a>' if href else dot
            )
    out.append("</svg>")
    return Markup("".join(out))
