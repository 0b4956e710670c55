from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from streams.models.dead_letter import (
    HEADER_PREFIX,
    MAX_MESSAGE_CHARS,
    REDACTED,
    DeadLetterHeaders,
    key_text,
    redact,
)

#: Built at run time so no key-shaped literal sits in the repository.
SK = "sk" + "-"


def headers(**overrides: Any) -> DeadLetterHeaders:
    fields: dict[str, Any] = {
        "stage": "parse",
        "error_class": "RawRecordError",
        "reason": "invalid_json",
        "message": "invalid JSON: Expecting value at 0",
        "attempts": 1,
        "first_failure_at": datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "original_topic": "statuses.raw",
        "original_partition": 2,
        "original_offset": 99,
        "original_key": "103270115826048975",
    }
    fields.update(overrides)
    return DeadLetterHeaders(**fields)


def test_headers_are_prefixed_utf8_text() -> None:
    pairs = headers().to_headers()
    assert all(name.startswith(HEADER_PREFIX) for name, _ in pairs)
    assert all(isinstance(value, bytes) for _, value in pairs)
    as_text = {name: value.decode("utf-8") for name, value in pairs}
    assert as_text["dlq.reason"] == "invalid_json"
    assert as_text["dlq.original_offset"] == "99"
    assert as_text["dlq.schema_version"] == "1"
    assert datetime.fromisoformat(as_text["dlq.first_failure_at"]) == headers().first_failure_at


def test_absent_key_has_no_header_and_round_trips_as_none() -> None:
    record = headers(original_key=None)
    pairs = record.to_headers()
    assert "dlq.original_key" not in dict(pairs)
    assert DeadLetterHeaders.from_headers(pairs) == record


@pytest.mark.parametrize(
    "record",
    [
        headers(),
        headers(stage="score", reason="llm_reply_missing_item", attempts=4, message="é ✓"),
        headers(stage="harvest", reason="text_wait_expired", original_key="k\\xff"),
        headers(stage="produce", error_class="KafkaTimeoutError", message=""),
    ],
)
def test_round_trip_through_headers(record: DeadLetterHeaders) -> None:
    assert DeadLetterHeaders.from_headers(record.to_headers()) == record


def test_from_headers_reads_a_mapping_and_ignores_foreign_and_newer_headers() -> None:
    record = headers()
    received = dict(record.to_headers())
    received["traceparent"] = b"00-abc-def-01"
    received["dlq.added_in_a_later_version"] = b"whatever"
    assert DeadLetterHeaders.from_headers(received) == record


def test_repeated_header_is_an_error() -> None:
    pairs = [*headers().to_headers(), ("dlq.reason", b"other")]
    with pytest.raises(ValueError, match=r"dlq\.reason appears twice"):
        DeadLetterHeaders.from_headers(pairs)


def test_missing_header_is_an_error() -> None:
    pairs = [(n, v) for n, v in headers().to_headers() if n != "dlq.original_offset"]
    with pytest.raises(ValidationError, match="original_offset"):
        DeadLetterHeaders.from_headers(pairs)


def test_undecodable_or_unknown_version_header_is_an_error() -> None:
    pairs = [(n, b"\xff" if n == "dlq.stage" else v) for n, v in headers().to_headers()]
    with pytest.raises(ValueError):
        DeadLetterHeaders.from_headers(pairs)
    pairs = [(n, b"2" if n == "dlq.schema_version" else v) for n, v in headers().to_headers()]
    with pytest.raises(ValueError, match="schema_version"):
        DeadLetterHeaders.from_headers(pairs)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stage", "publish"),
        ("reason", "Invalid JSON"),
        ("reason", ""),
        ("attempts", 0),
        ("original_partition", -1),
        ("first_failure_at", datetime(2024, 5, 1)),
        ("unexpected", 1),
    ],
)
def test_invalid_values_are_rejected(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        headers(**{field: value})


def test_first_failure_is_stored_in_utc() -> None:
    local = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert headers(first_failure_at=local).first_failure_at == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_message_is_redacted_on_construction() -> None:
    record = headers(message="401 Incorrect API key provided: " + SK + "proj-AbC123dEf456GhI789")
    assert "AbC123" not in record.message
    assert REDACTED in record.message
    assert "AbC123" not in b"".join(v for _, v in record.to_headers()).decode()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Incorrect API key provided: " + SK + "abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("key " + SK + "proj-Zx9_Yw8-Vu7Ts6Rq5 rejected", "Zx9_Yw8-Vu7Ts6Rq5"),
        ("Authorization: Bearer eyJhbGciOi.J9abc-def", "eyJhbGciOi"),
        ("authorization: bearer tok_12345", "tok_12345"),
        ("cannot connect to kafka://admin:hunter2@broker:9092", "hunter2"),
        ("GET https://u:p4ss%21@example.org/x failed", "p4ss"),
        ("retrying with api_key=abc123&model=x", "abc123"),
        ('config {"password": "correct horse battery"}', "horse"),
        ("token: ghp_secretvalue", "ghp_secretvalue"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_redact_keeps_context_that_is_not_secret() -> None:
    assert redact("kafka://admin:hunter2@broker:9092").startswith("kafka://admin:")
    assert redact("api_key=abc&model=gpt-4o-mini").endswith("&model=gpt-4o-mini")
    for harmless in ["task-force sk-short", "LLM reply lacks item 3", "see https://example.org/a"]:
        assert redact(harmless) == harmless


def test_redact_truncates_long_messages() -> None:
    cleaned = redact("x" * 5000)
    assert len(cleaned) == MAX_MESSAGE_CHARS
    assert cleaned.endswith("…")
    assert redact("y" * MAX_MESSAGE_CHARS) == "y" * MAX_MESSAGE_CHARS


@given(st.text(alphabet=st.sampled_from(list("sk-Bearer:/@=\"' passwordtoken_x1\n")), max_size=600))
def test_redact_is_idempotent_and_bounded(text: str) -> None:
    once = redact(text)
    assert len(once) <= MAX_MESSAGE_CHARS
    assert redact(once) == once


def test_key_text_shows_non_utf8_bytes_as_escapes() -> None:
    assert key_text(None) is None
    assert key_text(b"123") == "123"
    assert key_text(b"a\xffb") == "a\\xffb"
