"""Snowflake-style IDs and timestamps shaped the way Mastodon renders them.

Mastodon's status IDs come from ``timestamp_id()`` (mastodon/mastodon
lib/mastodon/snowflake.rb): the milliseconds since the Unix epoch shifted left
by 16 bits, with a 16-bit sequence in the low bits.  They are rendered as
strings in every REST and streaming payload.  Timestamps go through
ActiveSupport's JSON encoder, which prints UTC with millisecond precision and a
``Z`` suffix (``2019-12-08T03:48:33.901Z``).
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def iso_ms(moment: datetime) -> str:
    """A datetime as ActiveSupport renders it in JSON: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_micro(moment: datetime) -> str:
    """A datetime as Ruby's ``Time#iso8601(6)`` prints a UTC time.

    Used for ``X-RateLimit-Reset`` (mastodon/mastodon
    app/controllers/concerns/rate_limit_headers.rb, config/initializers/rack_attack.rb).
    """
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def midnight_iso(moment: datetime) -> str:
    """Account ``created_at`` in REST::AccountSerializer: truncated to midnight."""
    utc = moment.astimezone(UTC)
    return iso_ms(utc.replace(hour=0, minute=0, second=0, microsecond=0))


def parse_iso(text: str) -> datetime:
    """Parse a Mastodon timestamp (``...Z`` or with an offset) into aware UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class SnowflakeIds:
    """Thread-safe generator of Mastodon-like snowflake IDs (as strings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._last = 0

    def at(self, moment: datetime) -> str:
        """A fresh ID whose high bits encode ``moment`` in milliseconds."""
        millis = int(moment.timestamp() * 1000)
        with self._lock:
            candidate = (millis << _SEQUENCE_BITS) | (next(self._sequence) & _SEQUENCE_MASK)
            # Keep IDs strictly increasing even when several share a millisecond.
            candidate = max(candidate, self._last + 1)
            self._last = candidate
        return str(candidate)

    def now(self) -> str:
        """A fresh ID for the current moment."""
        return self.at(utc_now())


def id_to_datetime(status_id: str) -> datetime:
    """The moment encoded in a snowflake ID's high bits."""
    millis = int(status_id) >> _SEQUENCE_BITS
    return datetime.fromtimestamp(millis / 1000, UTC)
