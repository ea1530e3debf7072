"""What every document model builds on: closed shapes, open GTFS rows, and the summaries that link
documents together."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Document(BaseModel):
    """A shape this project defines: no other keys allowed."""

    model_config = ConfigDict(extra="forbid")


class Record(BaseModel):
    """A GTFS row: its reference fields typed, and any column the feed added kept as it is."""

    model_config = ConfigDict(extra="allow")


# -- summaries: the small pieces that link documents together ------------------------------------------


class StopSummary(Document):
    stop_id: str
    stop_name: str | None
    stop_lat: float | None
    stop_lon: float | None
    href: str = Field(description="Path of the stop-trips view, relative to the snapshot root.")


class RouteSummary(Document):
    route_id: str
    agency_id: str | None
    route_short_name: str | None
    route_long_name: str | None
    route_type: int | None
    href: str = Field(description="Path of the route tree, relative to the snapshot root.")


def always_present(model: type[BaseModel]) -> frozenset[str]:
    """Fields a document always carries (null or not); the others are left out when null."""
    return frozenset(name for name, field in model.model_fields.items() if field.is_required())
