"""Mastodon webhook deliveries: the signature, the event envelope, and what each event publishes.

Pure: no I/O. The web route calls :func:`handle_delivery` with the raw body, the
``X-Hub-Signature`` header and the secret, publishes every record of the returned plan, waits
for the broker's acks, and only then answers 2xx (Mastodon retries anything else, up to 16
times: delivery is at least once, in any order).

Mastodon signs as ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``; no timestamp
nor delivery id. The body is ``{"event": ..., "created_at": ..., "object": ...}``; the object
is the REST Status entity for ``status.*``, Admin::Report for ``report.*`` and Admin::Account for
``account.*``. A webhook with a custom payload template sends another body; it is not supported.

**Why the status is published as the object's original bytes**: the raw topic's contract is
Mastodon's Status JSON as its APIs give it. Re-encoding the parsed object would be equivalent
JSON but not the same bytes (escapes, number forms), so the raw topic would hold a webhook post
in a different spelling from the same post read elsewhere. The object's text is cut out of the
body at the exact span the JSON decoder consumed, so nothing is decoded and re-encoded; a
redelivery, whose body Mastodon computed once, publishes the very same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from streams.errors import ConfigurationError, InvalidRecordError
from streams.ingest.mastodon.errors import (
    InvalidWebhookError,
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
)
from streams.ingest.mastodon.jsontext import member_span
from streams.ingest.mastodon.reports import (
    AdminReport,
    ReportOutcome,
    ReportPolicy,
    report_corrections,
)
from streams.models.corrections import AwareDatetime
from streams.models.status import Status, load_json_object

SIGNATURE_HEADER: Final = "X-Hub-Signature"

#: Largest body the route should accept (413 beyond). A report carries full statuses; a status
#: with a poll and four attachments serialises to a few tens of kilobytes.
MAX_WEBHOOK_BODY_BYTES: Final = 4 * 1024 * 1024

STATUS_EVENTS: Final = frozenset({"status.created", "status.updated"})
REPORT_EVENTS: Final = frozenset({"report.created", "report.updated"})

_SIGNATURE: Final = re.compile(r"sha256=([0-9a-fA-F]{64})")


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise unless ``header`` is ``sha256=<hex>`` of HMAC-SHA256(``secret``, ``body``).

    Missing, malformed and wrong signatures raise distinct ``WebhookSignatureError``
    subclasses; an empty ``secret`` raises ``ConfigurationError`` (closed by default).
    """
    if not secret:
        raise ConfigurationError(
            "STREAMS_MASTODON_WEBHOOK_SECRET is not set: copy the secret of the webhook from "
            "Mastodon's Administration > Webhooks"
        )
    if header is None or not header.strip():
        raise SignatureMissingError(f"no {SIGNATURE_HEADER} header")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise SignatureMalformedError(f"{SIGNATURE_HEADER} is not sha256=<64 hex digits>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise SignatureMismatchError(f"{SIGNATURE_HEADER} does not match the body")


class WebhookEvent(BaseModel):
    """The envelope of every delivery (REST::Admin::WebhookEventSerializer)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: str
    created_at: AwareDatetime | None = None
    object: dict[str, Any]


def read_event(body: bytes) -> tuple[WebhookEvent, bytes]:
    """The envelope of ``body`` and the exact bytes of its ``object``.

    Raises ``InvalidWebhookError`` for a body that is no strict JSON object (see
    ``load_json_object``) or no envelope.
    """
    try:
        data = load_json_object(body)
    except InvalidRecordError as exc:
        raise InvalidWebhookError(f"body: {exc}") from None
    try:
        envelope = WebhookEvent.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidWebhookError(
            f"not a Mastodon webhook event: {where}: {first['msg']}"
        ) from None
    text = body.decode("utf-8")  # already checked by load_json_object
    span = member_span(text, "object")
    if span is None:  # unreachable: the envelope has an object
        raise InvalidWebhookError("body has no object")
    return envelope, text[span[0] : span[1]].encode("utf-8")


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """One record to publish: to the raw topic or to the corrections topic."""

    topic: Literal["raw", "corrections"]
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class WebhookPlan:
    """What one delivery publishes. ``outcome`` is the metric label: ``status``, ``account``,
    ``ignored`` or a report outcome (``reported``, ``confirmed_unmapped``, ...)."""

    event: str
    outcome: str
    records: tuple[OutgoingRecord, ...] = ()
    report: ReportOutcome | None = None


def _status_plan(envelope: WebhookEvent, raw_object: bytes) -> WebhookPlan:
    try:
        status = Status.model_validate(envelope.object)
    except ValidationError:
        raise InvalidWebhookError(
            f"{envelope.event}: object is no Status with a valid id"
        ) from None
    record = OutgoingRecord("raw", status.id.encode(), raw_object)
    return WebhookPlan(envelope.event, "status", (record,))


def _report_plan(envelope: WebhookEvent, policy: ReportPolicy) -> WebhookPlan:
    try:
        report = AdminReport.model_validate(envelope.object)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "object"
        raise InvalidWebhookError(f"{envelope.event}: object.{where}: {first['msg']}") from None
    outcome = report_corrections(envelope.event, report, policy)
    records = tuple(
        OutgoingRecord("corrections", c.status_id.encode(), c.to_bytes())
        for c in outcome.corrections
    )
    return WebhookPlan(envelope.event, outcome.outcome, records, outcome)


def plan_delivery(body: bytes, policy: ReportPolicy) -> WebhookPlan:
    """What a delivery whose signature was verified publishes."""
    envelope, raw_object = read_event(body)
    if envelope.event in STATUS_EVENTS:
        return _status_plan(envelope, raw_object)
    if envelope.event in REPORT_EVENTS:
        return _report_plan(envelope, policy)
    if envelope.event.startswith("account."):
        return WebhookPlan(envelope.event, "account")
    return WebhookPlan(envelope.event, "ignored")


def handle_delivery(
    body: bytes, signature: str | None, secret: str, policy: ReportPolicy
) -> WebhookPlan:
    """Verify, then plan one delivery. Raises ``WebhookSignatureError`` (401),
    ``InvalidWebhookError`` (400) or ``ConfigurationError`` (no secret configured)."""
    verify_signature(secret, body, signature)
    return plan_delivery(body, policy)
