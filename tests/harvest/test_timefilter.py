from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.harvest.timefilter import (
    as_utc,
    in_window,
    parse_time_bound,
    parse_window,
)

NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00Z", NOON),
        ("2026-03-01T12:00:00z", NOON),
        ("2026-03-01T12:00:00+00:00", NOON),
        ("2026-03-01T14:00:00+02:00", NOON),
        ("2026-03-01T07:00:00-05:00", NOON),
        ("2026-03-01T12:00:00", NOON),
        ("2026-03-01 12:00", NOON),
        (" 2026-03-01T12:00:00.000Z ", NOON),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_parse_time_bound_returns_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_time_bound(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_offset_is_converted_not_replaced() -> None:
    # The seed's bug: replace(tzinfo=UTC) would have read this as 14:00Z.
    assert parse_time_bound("2026-03-01T14:00:00+02:00").hour == 12


@pytest.mark.parametrize("garbage", ["", "yesterday", "2026-13-01", "2026-03-01T25:00", "1.5"])
def test_garbage_gives_a_clear_value_error(garbage: str) -> None:
    with pytest.raises(ValueError, match=r"invalid time .*expected YYYY-MM-DD"):
        parse_time_bound(garbage)


def test_window_bounds_since_inclusive_until_exclusive() -> None:
    since, until = parse_window("2026-03-01", "2026-03-02")
    assert since is not None and until is not None
    assert in_window(since, since, until)
    assert not in_window(since - timedelta(microseconds=1), since, until)
    assert in_window(until - timedelta(microseconds=1), since, until)
    assert not in_window(until, since, until)


def test_open_bounds() -> None:
    assert in_window(NOON, None, None)
    assert in_window(NOON, NOON, None)
    assert not in_window(NOON, None, NOON)
    assert parse_window(None, None) == (None, None)


def test_record_offsets_compare_as_instants() -> None:
    since = parse_time_bound("2026-03-01T12:00:00Z")
    plus_two = timezone(timedelta(hours=2))
    # 13:30+02:00 is 11:30Z: before the window, though its wall clock is after noon.
    assert not in_window(datetime(2026, 3, 1, 13, 30, tzinfo=plus_two), since, None)
    assert in_window(datetime(2026, 3, 1, 14, 0, tzinfo=plus_two), since, None)


def test_naive_record_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        in_window(datetime(2026, 3, 1, 12), NOON, None)


def test_naive_bounds_passed_directly_mean_utc() -> None:
    assert in_window(NOON, datetime(2026, 3, 1, 12), datetime(2026, 3, 1, 13))
    assert as_utc(datetime(2026, 3, 1, 12)) == NOON


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty window"):
        parse_window("2026-03-02", "2026-03-02T01:00:00+02:00")
