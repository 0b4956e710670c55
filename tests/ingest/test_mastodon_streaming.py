"""Streaming messages, timeline pagination, rate limits, backoff and since_id."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from mastodon_entities import status

from streams.errors import ConfigurationError
from streams.ingest.mastodon.streaming import (
    Ignored,
    PublishStatus,
    PublishTombstone,
    StreamRefused,
    backoff_delay,
    newest_id,
    next_page_url,
    page_status,
    parse_link_header,
    parse_message,
    parse_streams,
    rate_limit_wait,
    timeline_url,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def message(event: str, payload: object, stream: list[str] | None = None) -> str:
    # As streaming/index.js sends it: the payload of a status event is a JSON *string*.
    return json.dumps({"stream": stream or ["public:remote"], "event": event, "payload": payload})


@pytest.mark.parametrize("event", ["update", "status.update"])
def test_a_status_event_publishes_the_payload_bytes(event: str) -> None:
    payload = json.dumps(status("108913983692647032", "<p>caf\u00e9</p>"), ensure_ascii=False)
    action = parse_message(message(event, payload))
    assert action == PublishStatus("108913983692647032", payload.encode(), event != "update")


def test_a_delete_is_a_tombstone() -> None:
    assert parse_message(message("delete", "106692867363994015")) == PublishTombstone(
        "106692867363994015"
    )


@pytest.mark.parametrize(
    "text",
    [
        message("update", "not json"),
        message("update", json.dumps({"content": "no id"})),
        message("update", None),
        message("delete", ""),
        message("delete", {"id": "1"}),
        "not json at all",
        "[]",
    ],
)
def test_unusable_messages_are_ignored_as_invalid(text: str) -> None:
    action = parse_message(text)
    assert isinstance(action, Ignored) and action.reason == "invalid"


@pytest.mark.parametrize(
    "event", ["notification", "filters_changed", "announcement", "conversation"]
)
def test_other_events_are_ignored(event: str) -> None:
    assert parse_message(message(event, "{}")) == Ignored(event, "event")
    assert parse_message(json.dumps({"stream": ["user"], "event": event})) == Ignored(
        event, "event"
    )


def test_a_refused_subscription() -> None:
    text = json.dumps(
        {"error": "Error: Access token does not have the required scopes", "status": 401}
    )
    assert parse_message(text) == StreamRefused(
        "Error: Access token does not have the required scopes", 401
    )


def test_streams_are_checked() -> None:
    assert parse_streams("public:remote, public:local,public:remote") == (
        "public:remote",
        "public:local",
    )
    with pytest.raises(ConfigurationError, match="user"):
        parse_streams("public,user")
    with pytest.raises(ConfigurationError):
        parse_streams(" , ")


def test_since_id_compares_as_integers() -> None:
    assert newest_id(None, "99") == "99"
    assert newest_id("99", "100") == "100"  # as strings "99" > "100"
    assert newest_id("100", "99") == "100"
    assert newest_id("100", "not-a-number") == "100"
    assert newest_id(None, "01HX") is None


def test_the_first_timeline_page() -> None:
    url = timeline_url("https://mastodon.example/", "public:remote", "1000")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("mastodon.example", "/api/v1/timelines/public")
    assert parse_qs(parts.query) == {"remote": ["true"], "limit": ["40"], "since_id": ["1000"]}
    assert "since_id" not in timeline_url("https://m.example", "public:local:media", None)


def test_link_pagination_keeps_walking_down_to_since_id() -> None:
    # As Api::V1::Timelines::PublicController writes it: next (max_id) and prev (min_id).
    link = (
        "<https://mastodon.example/api/v1/timelines/public?limit=40&max_id=2000&remote=true>; "
        'rel="next", <https://mastodon.example/api/v1/timelines/public?limit=40&min_id=2040'
        '&remote=true>; rel="prev"'
    )
    assert set(parse_link_header(link)) == {"next", "prev"}
    url = next_page_url(link, "1000") or ""
    assert parse_qs(urlsplit(url).query) == {
        "limit": ["40"],
        "max_id": ["2000"],
        "remote": ["true"],
        "since_id": ["1000"],
    }
    assert next_page_url(link, None) == parse_link_header(link)["next"]
    assert next_page_url('<https://m.example/x?min_id=5>; rel="prev"', "1") is None
    assert next_page_url(None, "1") is None


def test_a_page_status_keeps_its_bytes() -> None:
    text = '{"id":"7","created_at":"2024-05-01T11:00:00.000Z","content":"\\u00e9"}'
    item = page_status(text)
    assert item is not None and item.value == text.encode()
    assert item.created_at == NOW - timedelta(hours=1)
    assert page_status('{"content":"no id"}') is None


def test_no_wait_while_requests_remain() -> None:
    headers = {"X-RateLimit-Remaining": "299", "X-RateLimit-Reset": "2024-05-01T12:05:00.000000Z"}
    assert rate_limit_wait(headers, 200, NOW) == 0.0
    assert rate_limit_wait({}, 200, NOW) == 0.0


def test_waits_until_the_reset_when_exhausted_or_throttled() -> None:
    # Mastodon's reset is ISO 8601 with microseconds (RateLimitHeaders, rack_attack.rb).
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2024-05-01T12:02:30.000000Z"}
    assert rate_limit_wait(headers, 200, NOW) == 150.0
    assert rate_limit_wait(headers, 429, NOW) == 150.0
    epoch = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW.timestamp() + 10)}
    assert rate_limit_wait(epoch, 429, NOW) == pytest.approx(10.0)
    assert rate_limit_wait({"Retry-After": "7"}, 429, NOW) == 7.0
    assert rate_limit_wait({}, 429, NOW) == 60.0
    past = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2024-05-01T11:00:00Z"}
    assert rate_limit_wait(past, 429, NOW) == 0.0
    far = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2024-05-02T12:00:00Z"}
    assert rate_limit_wait(far, 429, NOW) == 900.0


@pytest.mark.parametrize("attempt", [0, 1, 2, 5, 10, 100])
def test_backoff_stays_within_its_bounds(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(60.0, 1.0 * 2**attempt)
    delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_backoff_grows_then_caps() -> None:
    top = [backoff_delay(a, base_s=0.5, max_s=8.0, rng=random.Random(1)) for a in range(8)]
    assert top[0] <= 0.5 and max(top) <= 8.0 and top[-1] >= 4.0
