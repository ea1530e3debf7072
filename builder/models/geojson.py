"""The maps: a route's lines and stops, and every stop, as GeoJSON (RFC 7946)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from builder.models.shared import Document

Position = Annotated[list[float], Field(min_length=2, max_length=2, description="[longitude, latitude]")]


class Point(Document):
    type: Literal["Point"]
    coordinates: Position


class LineString(Document):
    type: Literal["LineString"]
    coordinates: list[Position] = Field(min_length=2)


class LineProperties(Document):
    shape_id: str | None = Field(description="null for a line drawn through the stops of a stop pattern.")
    from_stops: bool = Field(description="True when the line joins stops because no usable shape exists.")
    route_id: str
    direction_ids: list[int | None]
    trips: int = Field(description="How many of the route's trips follow this line.")
    route_color: str | None


class StopProperties(Document):
    stop_id: str
    stop_name: str | None
    href: str


class LineFeature(Document):
    type: Literal["Feature"]
    geometry: LineString
    properties: LineProperties


class StopFeature(Document):
    type: Literal["Feature"]
    geometry: Point
    properties: StopProperties


class RouteMap(Document):
    """routes/<key>.geojson: the route's shapes (or lines through its stops) and the stops it serves."""

    type: Literal["FeatureCollection"]
    features: list[LineFeature | StopFeature]


class MapStopProperties(StopProperties):
    location_type: int | None
    parent_station: str | None


class MapStopFeature(Document):
    type: Literal["Feature"]
    geometry: Point
    properties: MapStopProperties


class StopsMap(Document):
    """stops.geojson: every stop that has coordinates."""

    type: Literal["FeatureCollection"]
    features: list[MapStopFeature]
