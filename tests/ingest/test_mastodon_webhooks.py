"""Webhook deliveries: signature, envelope, and what each event publishes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from mastodon_entities import admin_account, report, status, webhook_body

from streams.errors import ConfigurationError
from streams.ingest.mastodon.errors import (
    InvalidWebhookError,
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
)
from streams.ingest.mastodon.jsontext import element_spans, member_span
from streams.ingest.mastodon.reports import ReportPolicy
from streams.ingest.mastodon.webhooks import handle_delivery, read_event, verify_signature
from streams.models.corrections import Correction

SECRET = "4f3c0b6a9e1d2c7b8a5f6e4d3c2b1a0f9e8d7c6b"  # SecureRandom.hex(20), as Mastodon makes it
POLICY = ReportPolicy(rule_categories={"3": ["hate_speech"]})


def sign(body: bytes, secret: str = SECRET) -> str:
    # As Webhooks::DeliveryWorker signs: "sha256=" + OpenSSL::HMAC.hexdigest(SHA256, secret, body)
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_signature_computed_as_mastodon_does_verifies() -> None:
    body = webhook_body("status.created", status())
    verify_signature(SECRET, body, sign(body))


def test_a_signature_worked_out_by_hand_from_the_documented_rule() -> None:
    # HMAC-SHA256 (RFC 2104) with hashlib only: H((K ^ opad) || H((K ^ ipad) || body)).
    body = b'{"event":"account.created","created_at":"2022-11-16T09:00:01.123Z","object":{}}'
    key = SECRET.encode().ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + body).digest()
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()
    verify_signature(SECRET, body, f"sha256={outer}")
    verify_signature(SECRET, body, f"sha256={outer.upper()}")  # hex digits in either case


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature(header: str | None) -> None:
    with pytest.raises(SignatureMissingError):
        verify_signature(SECRET, b"{}", header)


@pytest.mark.parametrize(
    "header",
    [
        "sha1=" + "a" * 40,
        "sha256=" + "a" * 63,
        "sha256=" + "g" * 64,
        "a" * 64,
        "sha256 =" + "a" * 64,
    ],
)
def test_a_malformed_signature(header: str) -> None:
    with pytest.raises(SignatureMalformedError):
        verify_signature(SECRET, b"{}", header)


def test_a_wrong_signature() -> None:
    body = webhook_body("status.created", status())
    with pytest.raises(SignatureMismatchError):
        verify_signature(SECRET, body, sign(body, secret="another secret of the instance"))
    with pytest.raises(SignatureMismatchError):
        verify_signature(SECRET, body + b" ", sign(body))  # one byte more than was signed


def test_no_secret_configured_refuses_everything() -> None:
    body = webhook_body("status.created", status())
    with pytest.raises(ConfigurationError, match="STREAMS_MASTODON_WEBHOOK_SECRET"):
        verify_signature("", body, sign(body))


def test_a_wrong_signature_publishes_nothing() -> None:
    body = webhook_body("status.created", status())
    with pytest.raises(SignatureMismatchError):
        handle_delivery(body, sign(b"other"), SECRET, POLICY)


@pytest.mark.parametrize("event", ["status.created", "status.updated"])
def test_a_status_event_publishes_the_object_bytes_unchanged_keyed_by_id(event: str) -> None:
    post = status("109348677773283527", '<p>caf\u00e9 \u2014 \U0001f600 &amp; "quotes"</p>')
    body = webhook_body(event, post)
    plan = handle_delivery(body, sign(body), SECRET, POLICY)
    assert plan.event == event and plan.outcome == "status"
    [record] = plan.records
    assert record.topic == "raw"
    assert record.key == b"109348677773283527"
    assert json.loads(record.value) == post
    # The very bytes Mastodon sent, not a re-encoding.
    assert record.value in body and record.value.startswith(b'{"id":"109348677773283527"')


def test_the_object_keeps_its_original_spelling() -> None:
    # Escapes and number forms that a decode and re-encode would change.
    obj = '{ "id" : "7", "content" : "caf\\u00e9 \\/ x", "poll" : null, "n" : 1.50 }'
    body = (
        '{"event":"status.updated","created_at":"2022-11-16T09:00:01.123Z","object":' + obj + "}"
    ).encode()
    plan = handle_delivery(body, sign(body), SECRET, POLICY)
    assert plan.records[0].value == obj.encode()


def test_member_span_finds_the_member_wherever_it_is() -> None:
    text = ' { "object" : [1, {"object": 2}] , "event" : "x" } '
    start, end = member_span(text, "object") or (0, 0)
    assert text[start:end] == '[1, {"object": 2}]'
    assert member_span('{"a": {"object": 1}}', "object") is None
    assert member_span("{}", "object") is None


def test_element_spans_cut_a_timeline_page_into_statuses() -> None:
    text = '[ {"id":"2","n":1.50} ,{"id":"1"}]'
    assert [text[a:b] for a, b in element_spans(text)] == ['{"id":"2","n":1.50}', '{"id":"1"}']
    assert element_spans("[]") == [] and element_spans("{}") == []


def test_unknown_envelope_fields_are_ignored() -> None:
    body = json.dumps({"event": "status.created", "object": status(), "webhook_id": 3}).encode()
    envelope, _ = read_event(body)
    assert envelope.event == "status.created" and envelope.created_at is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"event":"status.created"}',
        b'{"event":"status.created","object":"109"}',
        b'{"event":"status.created","object":{},"object":{}}',
        b'{"event":"status.created","object":{"content":"no id"}}',
        b'{"event":"report.created","object":{"id":"1"}}',
    ],
)
def test_bodies_that_are_no_readable_event(body: bytes) -> None:
    with pytest.raises(InvalidWebhookError):
        handle_delivery(body, sign(body), SECRET, POLICY)


def test_a_report_becomes_corrections_on_the_corrections_topic() -> None:
    body = webhook_body("report.created", report(statuses=[status("11"), status("12")]))
    plan = handle_delivery(body, sign(body), SECRET, POLICY)
    assert plan.outcome == "reported"
    assert [(r.topic, r.key) for r in plan.records] == [
        ("corrections", b"11"),
        ("corrections", b"12"),
    ]
    first = Correction.model_validate_json(plan.records[0].value)
    assert first.source == "user_report" and first.expected_categories == ["hate_speech"]


def test_a_redelivery_gives_the_same_records() -> None:
    body = webhook_body("report.created", report())
    once = handle_delivery(body, sign(body), SECRET, POLICY)
    again = handle_delivery(body, sign(body), SECRET, POLICY)
    assert once.records == again.records


@pytest.mark.parametrize("event", ["account.created", "account.approved", "account.updated"])
def test_account_events_are_counted_only(event: str) -> None:
    body = webhook_body(event, admin_account("5", "bob"))
    plan = handle_delivery(body, sign(body), SECRET, POLICY)
    assert plan.outcome == "account" and plan.records == ()


def test_an_event_of_a_later_mastodon_version_is_acknowledged_and_ignored() -> None:
    body = webhook_body("status.deleted", {"id": "9"})
    plan = handle_delivery(body, sign(body), SECRET, POLICY)
    assert plan.outcome == "ignored" and plan.records == ()
