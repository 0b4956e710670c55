"""Prometheus metrics of the Mastodon connector (``streams_mastodon_*``).

In their own registry, which the worker's ``/metrics`` serves next to ``streams.metrics`` (the
webhook deliveries it received) and the follower counts into. Label values are bounded sets
(events Mastodon defines, outcomes, reasons), never ids nor text.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from streams.ingest.mastodon.webhooks import REPORT_EVENTS, STATUS_EVENTS
from streams.models.corrections import Correction

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "streams_mastodon_webhooks_total",
    "Webhook deliveries, by event and outcome (status, account, ignored, a report outcome, "
    "signature_missing, signature_malformed, signature_mismatch, invalid, not_configured, "
    "wrong_content_type, too_large, publish_failed); event is other when not yet verified.",
    ["event", "outcome"],
    registry=REGISTRY,
)
CORRECTIONS = Counter(
    "streams_mastodon_corrections_total",
    "Corrections made from reports, by source.",
    ["source"],
    registry=REGISTRY,
)
STREAM_MESSAGES = Counter(
    "streams_mastodon_stream_messages_total",
    "Streaming messages read, by what they became (status, tombstone, ignored, invalid).",
    ["action"],
    registry=REGISTRY,
)
PUBLISHED = Counter(
    "streams_mastodon_published_total",
    "Records the follower published to the raw topic, by origin (stream, backfill).",
    ["origin", "kind"],  # kind: status, tombstone
    registry=REGISTRY,
)
BACKFILLS = Counter(
    "streams_mastodon_backfills_total", "Backfill walks of the timeline.", registry=REGISTRY
)
BACKFILL_TOO_OLD = Counter(
    "streams_mastodon_backfill_too_old_total",
    "Timeline statuses older than the backfill's maximum age, left out.",
    registry=REGISTRY,
)
RECONNECTS = Counter(
    "streams_mastodon_reconnects_total",
    "Streaming reconnects, by reason (closed, idle, unreachable, server_error, refused).",
    ["reason"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT = Counter(
    "streams_mastodon_rate_limit_wait_seconds_total",
    "Time spent waiting for the instance's rate limit to reset.",
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "streams_mastodon_rate_limited_total", "REST answers of 429.", registry=REGISTRY
)
CONNECTED = Gauge(
    "streams_mastodon_connected", "1 while the streaming connection is open.", registry=REGISTRY
)

_EVENTS = STATUS_EVENTS | REPORT_EVENTS | {"account.created", "account.approved", "account.updated"}


def event_label(event: str) -> str:
    """``event`` when Mastodon defines it, else ``other`` (labels stay a bounded set)."""
    return event if event in _EVENTS else "other"


def count_webhook(event: str, outcome: str, corrections: Iterable[Correction] = ()) -> None:
    """Count one delivery (``outcome``: a plan's outcome, ``signature_<reason>`` or
    ``invalid``) and the corrections it published."""
    WEBHOOKS.labels(event_label(event), outcome).inc()
    for correction in corrections:
        CORRECTIONS.labels(correction.source).inc()
