"""Instants and local times for departure boards, without a datetime object per departure.

GTFS counts a stop time from "noon minus 12 h" of its service date in the agency's timezone (the
midnight that exists, even on daylight-saving days), so a time is an offset in seconds from that
reference instant. A board shows each instant as an ISO 8601 local date-time with its UTC offset in the
stop's zone, and files it under the local date of that instant. Millions of departures would each cost
a datetime and a zoneinfo lookup; a zone's offset only changes at a few transitions a year, so a
ZoneClock caches it per hour of the epoch, and the formatted strings per instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from builder.errors import FeedError

HOUR = 3600
DAY = 86400
NOON = 12 * HOUR
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeedError(f"unknown timezone {name!r} (agency_timezone or stop_timezone)") from None


def reference_instant(day: date, zone: ZoneInfo) -> int:
    """Unix time of "noon minus 12 h" on `day` in `zone`: where a service day's times count from."""
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=zone).timestamp()) - NOON


def local_midnight(day: date, zone: ZoneInfo) -> int:
    """The first instant of `day` in `zone` (where midnight does not exist, the transition itself)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def gtfs_time(seconds: int) -> str:
    """Seconds since the reference instant as a GTFS time, zero-padded, past 24:00:00 where it is."""
    return f"{seconds // HOUR:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def parse_gtfs_time(text: str | None) -> int | None:
    """`25:30:00` or `5:30:00` -> seconds; None or empty -> None."""
    if text is None:
        return None
    found = _PARSED.get(text)
    if found is None:
        stripped = text.strip()
        if not stripped:
            return None
        h, m, s = stripped.split(":")
        found = _PARSED[text] = int(h) * HOUR + int(m) * 60 + int(s)
    return found


def time_json(seconds: int | None) -> bytes:
    """A GTFS time as JSON: `"25:30:00"`, or `null`."""
    if seconds is None:
        return b"null"
    found = _TIME_JSON.get(seconds)
    if found is None:
        found = _TIME_JSON[seconds] = b'"' + gtfs_time(seconds).encode() + b'"'
    return found


def clock_bytes(seconds: int) -> bytes:
    """`HH:MM:SS` of a second of the day (0 to 86399)."""
    found = _CLOCK.get(seconds)
    if found is None:
        found = _CLOCK[seconds] = gtfs_time(seconds).encode()
    return found


# A feed's times are a few thousand distinct strings, repeated over millions of stop times: parsed and
# formatted once each (bounded by the seconds of two days and a little more, under 10 MB at worst).
_PARSED: dict[str, int] = {}
_TIME_JSON: dict[int, bytes] = {}
_CLOCK: dict[int, bytes] = {}


def offset_text(offset: int) -> str:
    """An UTC offset as datetime.isoformat writes it: `-04:00`, `+00:00`, `+00:53:28`."""
    sign, amount = ("-", -offset) if offset < 0 else ("+", offset)
    text = f"{sign}{amount // HOUR:02d}:{amount // 60 % 60:02d}"
    return text + f":{amount % 60:02d}" if amount % 60 else text


class ZoneClock:
    """One zone's UTC offsets, cached per hour, and ISO strings made of cached pieces (the date, the time
    of day, the offset): the hot path is a few dictionary lookups and one join per instant."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.zone = zone_named(name)
        self._hours: dict[int, int | None] = {}  # hour of the epoch -> offset (None: changes within it)
        self._last: tuple[int, bytes] = (-1 << 62, b"")  # a departure's arrival is mostly its departure
        self._dates: dict[int, bytes] = {}
        self._offsets: dict[int, bytes] = {}

    def offset(self, instant: int) -> int:
        hour = instant // HOUR
        try:
            offset = self._hours[hour]
        except KeyError:
            offset = self._fill(hour)
        return self._exact(instant) if offset is None else offset

    def _fill(self, hour: int) -> int | None:
        first, last = self._exact(hour * HOUR), self._exact(hour * HOUR + HOUR - 1)
        self._hours[hour] = first if first == last else None
        return self._hours[hour]

    def _exact(self, instant: int) -> int:
        delta = datetime.fromtimestamp(instant, UTC).astimezone(self.zone).utcoffset()
        return 0 if delta is None else int(delta.total_seconds())

    def local_day(self, instant: int) -> int:
        """Days since 1970-01-01 of the local date of `instant` (not monotonic on a fall-back night)."""
        return (instant + self.offset(instant)) // DAY

    def iso(self, instant: int) -> bytes:
        """`"2026-03-08T03:30:00-04:00"` as JSON (quotes included), the string datetime.isoformat gives."""
        last, text = self._last
        if instant != last:
            offset = self.offset(instant)
            day, seconds = divmod(instant + offset, DAY)
            text = b"".join((self._date(day), clock_bytes(seconds), self._offset(offset)))
            self._last = instant, text
        return text

    def _date(self, day: int) -> bytes:
        """`"2026-03-08T` for a day since the epoch."""
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = f'"{date.fromordinal(day + EPOCH_ORDINAL).isoformat()}T'.encode()
        return text

    def _offset(self, offset: int) -> bytes:
        text = self._offsets.get(offset)
        if text is None:
            text = self._offsets[offset] = f'{offset_text(offset)}"'.encode()
        return text
