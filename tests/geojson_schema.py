"""RFC 7946 GeoJSON as a JSON Schema (draft 2020-12), written from the RFC, not from the builder's models.

Compact but complete for what RFC 7946 requires of each object: a `type` of the right name; positions of
two or three finite numbers, longitude in [-180, 180] first, latitude in [-90, 90] second (section 3.1.1);
LineStrings of two or more positions (3.1.4), linear rings of four or more (3.1.6; that they close, JSON
Schema cannot say, and the snapshot has no polygons); Features
with `geometry` (an object or null) and `properties` (an object or null) (3.2); FeatureCollections with a
`features` array of Features (3.3). Foreign members are allowed, as the RFC allows them (6.1).
"""

from __future__ import annotations

from typing import Any

_POSITION: dict[str, Any] = {
    "type": "array",
    "minItems": 2,
    "maxItems": 3,
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
        {"type": "number"},
    ],
}
_LINE = {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/position"}}
_RING = {"type": "array", "minItems": 4, "items": {"$ref": "#/$defs/position"}}


def _geometry(name: str, coordinates: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {"type": {"const": name}, "coordinates": coordinates},
    }


GEOJSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "position": _POSITION,
        "geometry": {
            "oneOf": [
                _geometry("Point", {"$ref": "#/$defs/position"}),
                _geometry("MultiPoint", {"type": "array", "items": {"$ref": "#/$defs/position"}}),
                _geometry("LineString", _LINE),
                _geometry("MultiLineString", {"type": "array", "items": _LINE}),
                _geometry("Polygon", {"type": "array", "items": _RING}),
                _geometry("MultiPolygon", {"type": "array", "items": {"type": "array", "items": _RING}}),
                {
                    "type": "object",
                    "required": ["type", "geometries"],
                    "properties": {
                        "type": {"const": "GeometryCollection"},
                        "geometries": {"type": "array", "items": {"$ref": "#/$defs/geometry"}},
                    },
                },
            ]
        },
        "feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"const": "Feature"},
                "geometry": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/geometry"}]},
                "properties": {"type": ["object", "null"]},
                "id": {"type": ["string", "number"]},
            },
        },
    },
    "oneOf": [
        {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {"type": "array", "items": {"$ref": "#/$defs/feature"}},
            },
        },
        {"$ref": "#/$defs/feature"},
        {"$ref": "#/$defs/geometry"},
    ],
}
