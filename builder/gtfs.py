"""The GTFS Schedule reference, as data: files, fields, their types and which are required.

Table and column names are GTFS file and field names, as node-gtfs and gtfs-via-postgres use them, so a
database that another tool loaded can be built from as it is. Columns a feed adds beyond this list are kept
as text columns; files this list does not know are not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a field's text becomes a database value."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    TIME = "time"  # H:MM:SS or HH:MM:SS, may pass 24:00:00; stored zero-padded
    DATE = "date"  # YYYYMMDD, stored as text


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, Kind]
    required_columns: tuple[str, ...]
    key: tuple[str, ...] = ()  # what must be unique; empty when the reference sets no key

    @property
    def file_name(self) -> str:
        return self.name + ".txt"


T, I, F, TM, D = Kind.TEXT, Kind.INT, Kind.FLOAT, Kind.TIME, Kind.DATE


def _t(name: str, required: str, key: str, **columns: Kind) -> Table:
    return Table(name, dict(columns), tuple(required.split()), tuple(key.split()))


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t(
            "agency",
            "agency_name agency_url agency_timezone",
            "agency_id",
            agency_id=T,
            agency_name=T,
            agency_url=T,
            agency_timezone=T,
            agency_lang=T,
            agency_phone=T,
            agency_fare_url=T,
            agency_email=T,
            cemv_support=I,
        ),
        _t(
            "stops",
            "stop_id",
            "stop_id",
            stop_id=T,
            stop_code=T,
            stop_name=T,
            tts_stop_name=T,
            stop_desc=T,
            stop_lat=F,
            stop_lon=F,
            zone_id=T,
            stop_url=T,
            location_type=I,
            parent_station=T,
            stop_timezone=T,
            wheelchair_boarding=I,
            level_id=T,
            platform_code=T,
            stop_access=I,
        ),
        _t(
            "routes",
            "route_id route_type",
            "route_id",
            route_id=T,
            agency_id=T,
            route_short_name=T,
            route_long_name=T,
            route_desc=T,
            route_type=I,
            route_url=T,
            route_color=T,
            route_text_color=T,
            route_sort_order=I,
            continuous_pickup=I,
            continuous_drop_off=I,
            network_id=T,
            cemv_support=I,
        ),
        _t(
            "trips",
            "route_id service_id trip_id",
            "trip_id",
            route_id=T,
            service_id=T,
            trip_id=T,
            trip_headsign=T,
            trip_short_name=T,
            direction_id=I,
            block_id=T,
            shape_id=T,
            wheelchair_accessible=I,
            bikes_allowed=I,
            cars_allowed=I,
        ),
        _t(
            "stop_times",
            "trip_id stop_sequence",
            "trip_id stop_sequence",
            trip_id=T,
            arrival_time=TM,
            departure_time=TM,
            stop_id=T,
            location_group_id=T,
            location_id=T,
            stop_sequence=I,
            stop_headsign=T,
            start_pickup_drop_off_window=TM,
            end_pickup_drop_off_window=TM,
            pickup_type=I,
            drop_off_type=I,
            continuous_pickup=I,
            continuous_drop_off=I,
            shape_dist_traveled=F,
            timepoint=I,
            pickup_booking_rule_id=T,
            drop_off_booking_rule_id=T,
        ),
        _t(
            "calendar",
            "service_id monday tuesday wednesday thursday friday saturday sunday start_date end_date",
            "service_id",
            service_id=T,
            monday=I,
            tuesday=I,
            wednesday=I,
            thursday=I,
            friday=I,
            saturday=I,
            sunday=I,
            start_date=D,
            end_date=D,
        ),
        _t(
            "calendar_dates",
            "service_id date exception_type",
            "service_id date",
            service_id=T,
            date=D,
            exception_type=I,
        ),
        _t(
            "fare_attributes",
            "fare_id price currency_type payment_method",
            "fare_id",
            fare_id=T,
            price=F,
            currency_type=T,
            payment_method=I,
            transfers=I,
            agency_id=T,
            transfer_duration=I,
        ),
        _t("fare_rules", "fare_id", "", fare_id=T, route_id=T, origin_id=T, destination_id=T, contains_id=T),
        _t(
            "shapes",
            "shape_id shape_pt_lat shape_pt_lon shape_pt_sequence",
            "shape_id shape_pt_sequence",
            shape_id=T,
            shape_pt_lat=F,
            shape_pt_lon=F,
            shape_pt_sequence=I,
            shape_dist_traveled=F,
        ),
        _t(
            "frequencies",
            "trip_id start_time end_time headway_secs",
            "trip_id start_time",
            trip_id=T,
            start_time=TM,
            end_time=TM,
            headway_secs=I,
            exact_times=I,
        ),
        _t(
            "transfers",
            "",
            "",
            from_stop_id=T,
            to_stop_id=T,
            from_route_id=T,
            to_route_id=T,
            from_trip_id=T,
            to_trip_id=T,
            transfer_type=I,
            min_transfer_time=I,
        ),
        _t(
            "pathways",
            "pathway_id from_stop_id to_stop_id pathway_mode is_bidirectional",
            "pathway_id",
            pathway_id=T,
            from_stop_id=T,
            to_stop_id=T,
            pathway_mode=I,
            is_bidirectional=I,
            length=F,
            traversal_time=I,
            stair_count=I,
            max_slope=F,
            min_width=F,
            signposted_as=T,
            reversed_signposted_as=T,
        ),
        _t("levels", "level_id level_index", "level_id", level_id=T, level_index=F, level_name=T),
        _t(
            "feed_info",
            "feed_publisher_name feed_publisher_url feed_lang",
            "",
            feed_publisher_name=T,
            feed_publisher_url=T,
            feed_lang=T,
            default_lang=T,
            feed_start_date=D,
            feed_end_date=D,
            feed_version=T,
            feed_contact_email=T,
            feed_contact_url=T,
        ),
        _t(
            "attributions",
            "organization_name",
            "",
            attribution_id=T,
            agency_id=T,
            route_id=T,
            trip_id=T,
            organization_name=T,
            is_producer=I,
            is_operator=I,
            is_authority=I,
            attribution_url=T,
            attribution_email=T,
            attribution_phone=T,
        ),
        _t(
            "translations",
            "table_name field_name language translation",
            "",
            table_name=T,
            field_name=T,
            language=T,
            translation=T,
            record_id=T,
            record_sub_id=T,
            field_value=T,
        ),
        _t(
            "timeframes",
            "timeframe_group_id service_id",
            "",
            timeframe_group_id=T,
            start_time=TM,
            end_time=TM,
            service_id=T,
        ),
        _t("networks", "network_id", "network_id", network_id=T, network_name=T),
        _t("route_networks", "network_id route_id", "route_id", network_id=T, route_id=T),
        _t("areas", "area_id", "area_id", area_id=T, area_name=T),
        _t("stop_areas", "area_id stop_id", "", area_id=T, stop_id=T),
    )
}

# A feed without these cannot describe a single trip; calendar may be replaced by calendar_dates.
REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")
SERVICE_FILES = ("calendar", "calendar_dates")

# Every table's key column is its identifier; these are the references the documents follow.
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    # (table, column, referenced table, referenced column)
    ("stop_times", "trip_id", "trips", "trip_id"),
    ("stop_times", "stop_id", "stops", "stop_id"),
    ("trips", "route_id", "routes", "route_id"),
)
# Real extracts often leave these dangling (a cut-out city keeps its parent_station ids): warn, do not fail.
SOFT_REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("stops", "parent_station", "stops", "stop_id"),
    ("routes", "agency_id", "agency", "agency_id"),
    ("trips", "shape_id", "shapes", "shape_id"),
    ("frequencies", "trip_id", "trips", "trip_id"),
    ("fare_rules", "route_id", "routes", "route_id"),
)


def column_kind(table: str, column: str) -> Kind:
    """The reference's kind for a column; columns the reference does not define are text."""
    known = TABLES.get(table)
    return known.columns.get(column, Kind.TEXT) if known else Kind.TEXT
