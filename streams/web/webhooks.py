"""``POST /webhooks/mastodon``: Mastodon's signed webhook deliveries into the raw and corrections
topics.

Authenticated by the delivery's ``X-Hub-Signature`` (HMAC-SHA256 of the raw body with
``STREAMS_MASTODON_WEBHOOK_SECRET``, compared in constant time), not by a bearer token: Mastodon
sends no other credential. What a delivery publishes is decided by the pure
:func:`streams.ingest.mastodon.webhooks.handle_delivery`; this module reads the request,
publishes, and answers.

Answers, in the order they are checked:

* 503 when no secret is configured. Not 403: Mastodon gives up on a 4xx (other than 401, 408
  and 429) but retries a 5xx for about two days, so deliveries made before the operator sets
  the secret still arrive once it is set.
* 415 for another Content-Type than ``application/json``; 413 for a body over
  ``MAX_WEBHOOK_BODY_BYTES``; 401 for a missing, malformed or wrong signature (nothing is read
  beyond the body, nothing is published); 400 for a signed body that is no webhook event.
* 200 once the broker acknowledged every record of the delivery; 503 when publishing failed or
  the acks did not come within ``PUBLISH_TIMEOUT_S``, so Mastodon's retries make delivery at
  least once end to end. A retry after a timeout may publish a record twice: same key and bytes,
  and the classifier's repeat cache does not ask the LLM again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import faust

from streams.errors import ConfigurationError
from streams.ingest.mastodon import metrics as mastodon_metrics
from streams.ingest.mastodon.config import report_policy, webhook_secret
from streams.ingest.mastodon.errors import InvalidWebhookError, WebhookSignatureError
from streams.ingest.mastodon.reports import ReportPolicy
from streams.ingest.mastodon.webhooks import (
    MAX_WEBHOOK_BODY_BYTES,
    SIGNATURE_HEADER,
    OutgoingRecord,
    WebhookPlan,
    handle_delivery,
)
from streams.settings import Settings
from streams.web.body import read_body

log = logging.getLogger(__name__)

PATH: Final = "/webhooks/mastodon"
#: Longest wait for the broker's acks. Mastodon's request times out after 10 s of reading and
#: retries; answering 503 first keeps the two from piling up.
PUBLISH_TIMEOUT_S: Final = 8.0

#: Publishes every record and returns once the broker acknowledged them all; raises otherwise.
Publish = Callable[[Sequence[OutgoingRecord]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to one delivery, and what to count."""

    status: int
    detail: str
    outcome: str
    event: str = ""
    plan: WebhookPlan | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "outcome": self.outcome}
        if self.plan is not None:
            body |= {"event": self.plan.event, "published": len(self.plan.records)}
        return body


async def receive(
    body: bytes, signature: str | None, secret: str, policy: ReportPolicy, publish: Publish
) -> Answer:
    """Verify, plan and publish one delivery whose size and type were checked."""
    try:
        plan = handle_delivery(body, signature, secret, policy)
    except WebhookSignatureError as exc:
        return Answer(401, f"{exc}: sign with the webhook's secret", f"signature_{exc.reason}")
    except InvalidWebhookError as exc:
        return Answer(400, str(exc), "invalid")
    except ConfigurationError as exc:
        return Answer(503, str(exc), "not_configured")
    try:
        await publish(plan.records)
    except Exception as exc:
        # Whatever failed (broker down, timeout, a record too large), the answer is the same:
        # not acknowledged, so Mastodon delivers again.
        log.warning(
            "mastodon webhook %s: publishing %d records failed (%s: %s); answering 503 so "
            "Mastodon retries", plan.event, len(plan.records), type(exc).__name__, exc,
        )  # fmt: skip
        return Answer(503, "the records could not be published; retry later",
                      "publish_failed", plan.event)  # fmt: skip
    _log_report(plan)
    return Answer(200, "published", plan.outcome, plan.event, plan)


def _log_report(plan: WebhookPlan) -> None:
    report = plan.report
    if report is None:
        return
    if report.outcome in ("confirmed_unmapped", "reported_unmapped"):
        # A moderator's decision that is lost for training deserves a warning; an unmapped
        # user report (spam, say) is routine.
        level = logging.WARNING if report.outcome == "confirmed_unmapped" else logging.INFO
        log.log(
            level, "mastodon %s: report %s is %s: neither its rules nor its category are in "
            "STREAMS_MASTODON_RULE_CATEGORIES, so it labels nothing; map them, then reopen and "
            "resolve the report to send it again", plan.event, report.report_id, report.outcome,
        )  # fmt: skip
    else:
        log.info(
            "mastodon %s: report %s %s: %d corrections%s", plan.event, report.report_id,
            report.outcome, len(report.corrections),
            f", {report.skipped_statuses} unreadable statuses left out"
            if report.skipped_statuses else "",
        )  # fmt: skip


def register(app: faust.App, settings: Settings) -> None:
    secret = webhook_secret(settings)
    policy = report_policy(settings)
    topics = {"raw": settings.topic_raw, "corrections": settings.topic_corrections}

    async def publish(records: Sequence[OutgoingRecord]) -> None:
        async def send_all() -> None:
            futures = [
                await app.producer.send(topics[r.topic], r.key, r.value, None, None, None)
                for r in records
            ]
            await asyncio.gather(*futures)

        await asyncio.wait_for(send_all(), PUBLISH_TIMEOUT_S)

    async def deliver(web: Any, request: Any) -> Any:
        answer = await _answer(request)
        corrections = answer.plan.report.corrections if answer.plan and answer.plan.report else ()
        mastodon_metrics.count_webhook(answer.event, answer.outcome, corrections)
        return web.json(answer.body(), status=answer.status)

    async def _answer(request: Any) -> Answer:
        if not secret:
            return Answer(
                503, "webhooks are closed: set STREAMS_MASTODON_WEBHOOK_SECRET to the secret "
                "shown in Mastodon's Administration > Webhooks", "not_configured",
            )  # fmt: skip
        if request.content_type != "application/json":
            return Answer(415, "send the event as Content-Type: application/json",
                          "wrong_content_type")  # fmt: skip
        body = await read_body(request, MAX_WEBHOOK_BODY_BYTES)
        if body is None:
            return Answer(413, f"a delivery is at most {MAX_WEBHOOK_BODY_BYTES} bytes",
                          "too_large")  # fmt: skip
        return await receive(body, request.headers.get(SIGNATURE_HEADER), secret, policy, publish)

    async def post(self: Any, request: Any) -> Any:
        return await deliver(self, request)

    app.page(PATH)(type("MastodonWebhookView", (faust.web.View,), {"post": post}))
