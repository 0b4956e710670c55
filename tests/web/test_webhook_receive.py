"""What the webhook route answers to each delivery, and what it publishes first.

``receive`` is handed a ``publish`` function; here it records what it is given, or fails as a
broker that is down would. The route against a real worker and broker is in
tests/ingest/test_mastodon_webhook_worker.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from streams.ingest.mastodon.reports import ReportPolicy
from streams.ingest.mastodon.webhooks import OutgoingRecord
from streams.testing.mastodon import signature, webhook_body
from streams.web.webhooks import Answer, receive

SECRET = "0123456789abcdef0123456789abcdef01234567"
POLICY = ReportPolicy(rule_categories={"1": ["hate_speech"]})
STATUS = {
    "id": "110000000000000001", "content": "<p>hello</p>", "language": "en",
    "created_at": "2026-11-01T12:00:00.000Z", "account": {"id": "7", "acct": "me"},
}  # fmt: skip


class Broker:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if self.error is not None:
            raise self.error
        self.published += records


def deliver(body: bytes, sig: str | None, broker: Broker, secret: str = SECRET) -> Answer:
    return asyncio.run(receive(body, sig, secret, POLICY, broker.publish))


def report(**changes: Any) -> dict[str, Any]:
    account = {"id": "9", "username": "them", "domain": "remote.example", "suspended": False}
    return {"id": "42", "action_taken": False, "category": "violation", "comment": "",
            "created_at": "2026-11-01T12:00:00.000Z", "account": {"id": "8", "domain": None},
            "target_account": account, "statuses": [STATUS], "rules": [{"id": "1"}],
            **changes}  # fmt: skip


def test_a_signed_status_is_published_then_acknowledged() -> None:
    body = webhook_body("status.created", STATUS)
    broker = Broker()
    answer = deliver(body, signature(SECRET, body), broker)
    assert (answer.status, answer.outcome, answer.event) == (200, "status", "status.created")
    (record,) = broker.published
    assert (record.topic, record.key) == ("raw", STATUS["id"].encode())
    assert answer.body() == {"detail": "published", "outcome": "status",
                             "event": "status.created", "published": 1}  # fmt: skip


@pytest.mark.parametrize(
    ("header", "outcome"),
    [(None, "signature_missing"), ("sha1=abc", "signature_malformed"),
     ("sha256=" + "0" * 64, "signature_mismatch")],
)  # fmt: skip
def test_a_bad_signature_is_401_and_publishes_nothing(header: str | None, outcome: str) -> None:
    broker = Broker()
    answer = deliver(webhook_body("status.created", STATUS), header, broker)
    assert (answer.status, answer.outcome, answer.event) == (401, outcome, "")
    assert broker.published == []


def test_signed_with_another_secret_is_401() -> None:
    body = webhook_body("status.created", STATUS)
    broker = Broker()
    assert deliver(body, signature("another-secret-entirely", body), broker).status == 401
    assert broker.published == []


def test_a_failed_publish_is_503_so_mastodon_retries() -> None:
    body = webhook_body("status.updated", STATUS)
    answer = deliver(body, signature(SECRET, body), Broker(TimeoutError()))
    assert (answer.status, answer.outcome, answer.event) == (503, "publish_failed",
                                                             "status.updated")  # fmt: skip


def test_a_signed_body_that_is_no_event_is_400() -> None:
    body = b'{"hello": "world"}'
    broker = Broker()
    answer = deliver(body, signature(SECRET, body), broker)
    assert (answer.status, answer.outcome) == (400, "invalid")
    assert broker.published == []


def test_no_secret_refuses_with_the_variable_to_set() -> None:
    body = webhook_body("status.created", STATUS)
    answer = deliver(body, signature("", body), Broker(), secret="")
    assert answer.status == 503 and "STREAMS_MASTODON_WEBHOOK_SECRET" in answer.detail


def test_a_report_publishes_its_corrections() -> None:
    body = webhook_body("report.created", report())
    broker = Broker()
    answer = deliver(body, signature(SECRET, body), broker)
    assert (answer.status, answer.outcome) == (200, "reported")
    assert [(r.topic, r.key) for r in broker.published] == [("corrections", STATUS["id"].encode())]


def test_a_confirmed_report_without_a_mapped_rule_is_acknowledged_and_publishes_nothing() -> None:
    sanctioned = {"id": "9", "domain": "remote.example", "suspended": True}
    unmapped = report(action_taken=True, action_taken_at="2026-11-01T13:00:00.000Z",
                      rules=[{"id": "3"}], target_account=sanctioned)  # fmt: skip
    body = webhook_body("report.updated", unmapped)
    broker = Broker()
    answer = deliver(body, signature(SECRET, body), broker)
    assert (answer.status, answer.outcome) == (200, "confirmed_unmapped")
    assert broker.published == []
