"""Webhook deliveries signed and sent as Mastodon sends them.

* Body: ``Oj.dump`` of REST::Admin::WebhookEventSerializer —
  ``{"event":...,"created_at":...,"object":...}`` with ``created_at`` the time
  the event was serialized (app/services/webhook_service.rb,
  app/presenters/webhooks/event_presenter.rb).  The same body string is
  queued once and reused by every retry.
* Request: ``POST`` with ``Content-Type: application/json`` and
  ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>``
  (app/workers/webhooks/delivery_worker.rb), plus Request's common headers
  ``User-Agent`` (``http.rb/<v> (Mastodon/<v>; +https://<domain>/)``,
  lib/mastodon/version.rb), ``Date`` and ``Accept-Encoding: gzip``
  (app/lib/request.rb).
* Outcome: 2xx is success; 501 and 4xx other than 401/408/429 are given up
  ("unsalvageable", app/helpers/json_ld_helper.rb); anything else raises and
  Sidekiq retries it (``retry: 16``) after ``count**4 + 15 + rand(10)*(count+1)``
  seconds (Sidekiq's default backoff).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate

import aiohttp

from streams.testing.mastodon.entities import JSONDict, compact_json
from streams.testing.mastodon.ids import iso_ms, utc_now

SIDEKIQ_RETRIES = 16
EVENTS = ("account.approved", "account.created", "account.updated", "report.created",
          "report.updated", "status.created", "status.updated")


def webhook_body(event: str, obj: JSONDict, created_at: datetime | None = None) -> bytes:
    """The exact bytes Mastodon signs and posts for ``event``."""
    payload = {"event": event, "created_at": iso_ms(created_at or utc_now()), "object": obj}
    return compact_json(payload).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def mastodon_user_agent(version: str = "4.5.0", domain: str = "mastodon.example",
                        http_rb: str = "http.rb/5.2.0") -> str:
    """Mastodon::Version.user_agent."""
    return f"{http_rb} (Mastodon/{version}; +https://{domain}/)"


@dataclass(frozen=True)
class Delivery:
    """One queued webhook job: where to, the fixed body, and its signature header."""

    url: str
    body: bytes
    secret: str
    user_agent: str

    def headers(self) -> dict[str, str]:
        """Headers of one attempt (``Date`` is fresh each time)."""
        return {
            "User-Agent": self.user_agent,
            "Date": formatdate(usegmt=True),
            "Accept-Encoding": "gzip",
            "Content-Type": "application/json",
            "X-Hub-Signature": signature(self.secret, self.body),
        }


def build_delivery(url: str, secret: str, event: str, obj: JSONDict, *,
                   created_at: datetime | None = None, user_agent: str | None = None) -> Delivery:
    """Serialize and sign an event for ``url`` as WebhookService + DeliveryWorker do."""
    return Delivery(url=url, body=webhook_body(event, obj, created_at), secret=secret,
                    user_agent=user_agent or mastodon_user_agent())


@dataclass(frozen=True)
class Attempt:
    """What one POST got back (``status`` 0 when the connection failed)."""

    status: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    @property
    def unsalvageable(self) -> bool:
        return self.status == 501 or (400 <= self.status < 500
                                      and self.status not in (401, 408, 429))

    @property
    def finished(self) -> bool:
        return self.succeeded or self.unsalvageable


async def post_once(delivery: Delivery, *, timeout: float = 10.0) -> Attempt:
    """POST the delivery once."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http, \
                http.post(delivery.url, data=delivery.body, headers=delivery.headers()) as resp:
            await resp.read()
            return Attempt(resp.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Attempt(0, error=repr(exc))


def sidekiq_delay(count: int, jitter: int = 0) -> float:
    """Sidekiq's default retry delay before retry number ``count`` (0-based)."""
    return float(count**4 + 15 + jitter * (count + 1))


async def deliver_with_retries(
    delivery: Delivery, *, retries: int = SIDEKIQ_RETRIES, time_scale: float = 0.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    attempt: Callable[[Delivery], Awaitable[Attempt]] = post_once,
) -> list[Attempt]:
    """Redeliver like Sidekiq until success, an unsalvageable answer, or retries run out.

    Waits ``sidekiq_delay(n) * time_scale`` between attempts (0 = no waiting).
    """
    attempts = [await attempt(delivery)]
    for count in range(retries):
        if attempts[-1].finished:
            break
        await sleep(sidekiq_delay(count) * time_scale)
        attempts.append(await attempt(delivery))
    return attempts


@dataclass
class Webhook:
    """A registered endpoint (Admin > Webhooks): url, secret and subscribed events."""

    url: str
    secret: str
    events: tuple[str, ...]
    enabled: bool = True
