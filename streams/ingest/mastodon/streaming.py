"""The pure side of following Mastodon: streaming messages, timeline URLs, pagination, rate
limits, backoff and the since_id bookkeeping. No I/O.

* Streaming messages are ``{"stream": [...], "event": ..., "payload": "..."}``; the payload of
  ``update`` and ``status.update`` is the Status JSON *as a string*, published as its bytes,
  unchanged, keyed by the status id; ``delete`` carries the id and becomes a tombstone. An
  ``{"error": ..., "status": ...}`` message is the server refusing a subscription.
* Timelines page newest first. Mastodon's ``next`` Link (older statuses) keeps the filters but
  drops ``since_id``, so :func:`next_page_url` adds it back: the walk ends with an empty page.
* Ids are Mastodon snowflakes (milliseconds << 16, as decimal strings) and compare as integers.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from streams.errors import ConfigurationError
from streams.models.status import Status, StatusId

#: Streams the follower can follow, and the timeline query that backfills each.
TIMELINE_PARAMS: Final[Mapping[str, Mapping[str, str]]] = {
    "public": {},
    "public:media": {"only_media": "true"},
    "public:local": {"local": "true"},
    "public:local:media": {"local": "true", "only_media": "true"},
    "public:remote": {"remote": "true"},
    "public:remote:media": {"remote": "true", "only_media": "true"},
}

TIMELINE_PATH: Final = "/api/v1/timelines/public"
STREAMING_PATH: Final = "/api/v1/streaming"
#: Mastodon's largest page of statuses.
PAGE_LIMIT: Final = 40
#: Longest wait a rate limit may impose: Mastodon's API periods are 5 and 15 minutes.
MAX_RATE_LIMIT_WAIT_S: Final = 900.0

_LINK: Final = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')
_STATUS_ID: Final = re.compile(r"^[!-~]{1,128}$")
_RNG: Final = random.Random()


def parse_streams(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Stream names from a comma-separated string or a list, checked and de-duplicated."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(name.strip() for name in items if name.strip()))
    unknown = [name for name in names if name not in TIMELINE_PARAMS]
    if unknown or not names:
        raise ConfigurationError(
            f"STREAMS_MASTODON_STREAMS: unknown stream {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(TIMELINE_PARAMS)}"
        )
    return names


# --- streaming messages --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishStatus:
    """Publish ``value`` (the Status JSON, unchanged) to the raw topic under ``key``."""

    status_id: str
    value: bytes
    edited: bool


@dataclass(frozen=True, slots=True)
class PublishTombstone:
    """The status was deleted: publish a null value under its id."""

    status_id: str


@dataclass(frozen=True, slots=True)
class StreamRefused:
    """The server refused a subscription (``{"error": ..., "status": 401}``)."""

    message: str
    status: int | None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing to publish. ``reason``: ``event`` (not a status event) or ``invalid``."""

    event: str
    reason: str


StreamAction = PublishStatus | PublishTombstone | StreamRefused | Ignored


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    stream: list[str] | str | None = None
    event: str | None = None
    payload: Any = None
    error: str | None = None
    status: int | None = None


def _status_action(event: str, payload: Any) -> StreamAction:
    # The payload is a string of Status JSON; a server sending an object gets it re-encoded.
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(payload, str):
        return Ignored(event, "invalid")
    try:
        status = Status.model_validate_json(payload)
    except ValidationError:
        return Ignored(event, "invalid")
    return PublishStatus(status.id, payload.encode("utf-8"), event == "status.update")


def parse_message(text: str | bytes) -> StreamAction:
    """What one websocket text message asks for. Never raises."""
    try:
        message = _Message.model_validate_json(text)
    except ValidationError:
        return Ignored("", "invalid")
    if message.error is not None:
        return StreamRefused(message.error[:200], message.status)
    event = message.event or ""
    if event in ("update", "status.update"):
        return _status_action(event, message.payload)
    if event == "delete":
        deleted = message.payload
        if isinstance(deleted, int) and not isinstance(deleted, bool):
            deleted = str(deleted)
        if isinstance(deleted, str) and _STATUS_ID.fullmatch(deleted):
            return PublishTombstone(deleted)
        return Ignored(event, "invalid")
    return Ignored(event[:40], "event")


# --- since_id ------------------------------------------------------------------------------


def id_number(status_id: str) -> int | None:
    """The id as an integer, or None when it is not a decimal number."""
    return int(status_id) if status_id.isascii() and status_id.isdigit() else None


def newest_id(current: str | None, candidate: str) -> str | None:
    """The greater of two ids as integers; ``current`` when ``candidate`` is not numeric."""
    number = id_number(candidate)
    if number is None:
        return current
    if current is None or number > (id_number(current) or -1):
        return str(number)
    return current


# --- timelines -----------------------------------------------------------------------------


def timeline_url(base_url: str, stream: str, since_id: str | None, limit: int = PAGE_LIMIT) -> str:
    """The first timeline page of ``stream`` newer than ``since_id`` (all pages when None)."""
    params = {**TIMELINE_PARAMS[stream], "limit": str(limit)}
    if since_id is not None:
        params["since_id"] = since_id
    return f"{base_url.rstrip('/')}{TIMELINE_PATH}?{urlencode(params)}"


def parse_link_header(value: str | None) -> dict[str, str]:
    """``rel -> URL`` of an RFC 8288 Link header as Mastodon writes it."""
    return {rel: url for url, rel in _LINK.findall(value or "")}


def next_page_url(link_header: str | None, since_id: str | None) -> str | None:
    """The ``next`` (older) page, with ``since_id`` put back so the walk stops at it."""
    url = parse_link_header(link_header).get("next")
    if url is None or since_id is None:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "since_id"]
    query.append(("since_id", since_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True, slots=True)
class TimelineStatus:
    """One status of a timeline page: its id, when it was written, and its JSON bytes."""

    status_id: str
    created_at: datetime | None
    value: bytes


class _PageStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StatusId
    created_at: datetime | None = None


def page_status(text: str) -> TimelineStatus | None:
    """One element of a timeline page (its JSON text), or None when it has no valid id."""
    try:
        item = _PageStatus.model_validate_json(text)
    except ValidationError:
        return None
    created = item.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return TimelineStatus(item.id, created, text.encode("utf-8"))


# --- rate limits and backoff ----------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value.strip()
    return None


def _reset_time(value: str) -> datetime | None:
    # Mastodon sends ISO 8601 with microseconds; other servers send epoch seconds.
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rate_limit_wait(headers: Mapping[str, str], status: int, now: datetime) -> float:
    """Seconds to wait before the next request: until ``X-RateLimit-Reset`` after a 429 or
    when ``X-RateLimit-Remaining`` is down to 0 (else 0). A 429 without a usable reset waits
    ``Retry-After``, else 60 s. Never more than ``MAX_RATE_LIMIT_WAIT_S``."""
    remaining = _header(headers, "X-RateLimit-Remaining")
    exhausted = remaining is not None and remaining.lstrip("-").isdigit() and int(remaining) <= 0
    if status != 429 and not exhausted:
        return 0.0
    reset = _header(headers, "X-RateLimit-Reset")
    when = _reset_time(reset) if reset else None
    if when is not None:
        wait = (when - now).total_seconds()
    elif status == 429:
        retry_after = _header(headers, "Retry-After") or ""
        wait = float(retry_after) if retry_after.isdigit() else 60.0
    else:
        wait = 0.0
    return min(max(wait, 0.0), MAX_RATE_LIMIT_WAIT_S)


def backoff_delay(
    attempt: int, *, base_s: float = 1.0, max_s: float = 60.0, rng: random.Random | None = None
) -> float:
    """Delay before reconnect ``attempt`` (0 for the first): exponential, capped at ``max_s``,
    with "equal jitter": between half and all of ``min(max_s, base_s * 2**attempt)``, so
    followers that lost the same server do not come back in step, and none comes back at once."""
    ceiling = min(max_s, base_s * 2.0 ** min(attempt, 32))
    return ceiling / 2 + (rng or _RNG).uniform(0, ceiling / 2)
