"""The webhook sink: each action POSTed as JSON to another platform, signed with HMAC-SHA256.

The body is the planned action record (``schemas/action.schema.json``), the same bytes on
every retry, so a receiver can drop a repeat by its ``action_id`` (also in
``X-Streams-Action-Id``). Every try is signed afresh (``streams.actions.signing``) with the
time it is sent. What each answer means, for :mod:`streams.actions.delivery`:

* 2xx: done; a JSON body's ``id`` is kept as the report id.
* 408, 425, 429, 500, 502, 503 and a connection that could not be made: retry (a 429 waits
  for ``Retry-After`` when given).
* 504, and a timeout or a dropped connection after the request was sent: unknown, never
  sent again.
* 401 and 403: refused (the receiver does not accept our signature or address): the agent
  stops. Other 4xx: failed for this action.
"""

from __future__ import annotations

import time
from typing import Final

import aiohttp
from pydantic import SecretStr

from streams.actions.delivery import Answer, answer_field
from streams.actions.signing import ACTION_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from streams.models.actions import ActionRecord, SinkName

RETRIED_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503})
MAX_RETRY_AFTER_S: Final = 900.0


class WebhookActions:
    """POSTs actions to one URL."""

    name: SinkName = "webhook"

    def __init__(self, url: str, secret: SecretStr, timeout_s: float) -> None:
        self._url = url
        self._secret = secret.get_secret_value().encode()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def ready_in(self) -> float:
        return 0.0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def signed_headers(self, record: ActionRecord, body: bytes, now: float) -> dict[str, str]:
        timestamp = str(int(now))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            ACTION_ID_HEADER: record.action_id,
        }

    async def send(self, record: ActionRecord) -> Answer:
        body = record.to_bytes()
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = self.signed_headers(record, body, time.time())
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                status, answer = response.status, await response.read()
                retry_after = response.headers.get("Retry-After", "")
        except aiohttp.ClientConnectorError as exc:
            return Answer("retry", "unreachable", f"cannot connect ({type(exc).__name__})")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Answer(
                "unknown", "no_answer",
                f"no answer after the request was sent ({type(exc).__name__}); not sent again",
            )  # fmt: skip
        return interpret(status, answer, retry_after)


def interpret(status: int, body: bytes, retry_after: str = "") -> Answer:
    """What the receiver's answer ``status`` means (see the module docstring)."""
    if 200 <= status < 300:
        return Answer("done", "ok", f"answered {status}", report_id=answer_field(body, "id"))
    if status in RETRIED_STATUSES:
        wait = min(float(retry_after), MAX_RETRY_AFTER_S) if retry_after.isdigit() else None
        outcome = "rate_limited" if status == 429 else "server_error"
        return Answer("retry", outcome, f"answered {status}", wait_s=wait)
    if status in (401, 403):
        return Answer(
            "refused", "refused",
            f"the webhook answered {status}: does the receiver hold STREAMS_ACTIONS_WEBHOOK_SECRET "
            "and accept this worker's clock (X-Streams-Timestamp)?",
        )  # fmt: skip
    if status >= 500:
        return Answer("unknown", "server_error", f"answered {status}; it may have acted")
    return Answer("failed", "rejected", f"the webhook answered {status}")
