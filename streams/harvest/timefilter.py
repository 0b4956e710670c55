"""The ``--since`` / ``--until`` window of the training-data export.

Every bound becomes an aware UTC datetime. A bound with an offset is converted to UTC (the seed
harvester replaced the zone instead, shifting such times by their offset); a bound without one
is read as UTC, never as the machine's local zone, so one command gives the same window on every
host.
"""

from __future__ import annotations

from datetime import UTC, datetime

SINCE_HELP = (
    "include records at or after this time: YYYY-MM-DD (midnight UTC) or an ISO 8601 datetime "
    "such as 2026-03-01T12:00:00Z or 2026-03-01T14:00:00+02:00; a datetime without offset "
    "is read as UTC"
)
UNTIL_HELP = (
    "include records before this time (exclusive), same formats as --since; "
    "--since 2026-03-01 --until 2026-03-02 is exactly 1 March, UTC"
)


def parse_time_bound(value: str) -> datetime:
    """Parse a date or ISO 8601 datetime into an aware UTC datetime; naive input means UTC."""
    text = value.strip()
    if text[-1:] == "z":
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid time {value!r}: expected YYYY-MM-DD or an ISO 8601 datetime such as "
            "2026-03-01T12:00:00Z or 2026-03-01T14:00:00+02:00 (without an offset, UTC is meant)"
        ) from None
    return as_utc(parsed)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC: an aware one converted, a naive one taken to be UTC already."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """Both bounds parsed; ValueError when ``since`` is not before ``until``."""
    start = parse_time_bound(since) if since is not None else None
    end = parse_time_bound(until) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise ValueError(
            f"empty window: --since {start.isoformat()} is not before --until {end.isoformat()}"
        )
    return start, end


def in_window(ts: datetime, since: datetime | None, until: datetime | None) -> bool:
    """True when ``since <= ts < until``; a None bound is open. ``ts`` must carry a zone."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        # A naive record time is a producer bug; guessing its zone would move it silently.
        raise ValueError(f"record time {ts.isoformat()} has no time zone")
    if since is not None and ts < as_utc(since):
        return False
    return until is None or ts < as_utc(until)
