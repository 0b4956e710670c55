"""The Mastodon sink: a report in the instance's moderation queue, ``POST /api/v1/reports``.

One request per :meth:`MastodonReports.send`, with the bot account's token (scope
``write:reports``): the post's author as ``account_id``, the post in ``status_ids``, the
comment, ``category`` ``violation`` with ``rule_ids`` or ``other``, and ``forward``.

Rate limits follow Mastodon's headers: after an answer with ``X-RateLimit-Remaining: 0`` the
next request waits for ``X-RateLimit-Reset``, and a 429 is retried after it (reports have
their own budget, 400 a day per account by default). What each answer means, for
:mod:`streams.actions.delivery`:

* 200: done, with the report's id.
* 429: retry after the reset. 500, 502, 503 and a connection that could not be made: retry
  with backoff (Rails rolls the report back when it fails, and a proxy answering 502/503 never
  reached it).
* 504 and a timeout or a dropped connection after the request was sent: unknown -- the
  instance may have filed the report, so it is not sent again.
* 401, 403, 422 and 400: refused -- the token is wrong, lacks ``write:reports``, is not a
  user's, or the rules named do not exist; no report was filed, and every further one would
  be refused the same way, so the agent stops.
* 404: failed for this post: its author or the post is not known to the instance (deleted,
  suspended, or never federated there).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

import aiohttp
from pydantic import SecretStr

from streams.actions.delivery import Answer, answer_field
from streams.ingest.mastodon.streaming import rate_limit_wait
from streams.models.actions import ActionRecord, SinkName

REPORTS_PATH: Final = "/api/v1/reports"
RETRIED_STATUSES: Final = frozenset({500, 502, 503})
REFUSED_STATUSES: Final = {
    400: "the request was malformed",
    401: "the token is invalid or revoked: set STREAMS_MASTODON_ACCESS_TOKEN to a valid token",
    403: "the token lacks the write:reports scope: issue one with write:reports",
    422: "the instance refused the report",
}


class MastodonReports:
    """Files reports on one instance."""

    name: SinkName = "mastodon"

    def __init__(self, base_url: str, token: SecretStr, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + REPORTS_PATH
        self._headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._not_before = 0.0  # time.monotonic() before which no request is sent

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def ready_in(self) -> float:
        return max(0.0, self._not_before - time.monotonic())

    async def send(self, record: ActionRecord) -> Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
        try:
            async with self._session.post(
                self._url, json=report_params(record), timeout=self._timeout
            ) as response:
                status, headers = response.status, dict(response.headers)
                body = await response.read()
        except aiohttp.ClientConnectorError as exc:
            return Answer("retry", "unreachable", f"cannot connect ({type(exc).__name__})")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Answer(
                "unknown", "no_answer",
                f"no answer after the request was sent ({type(exc).__name__}); the report "
                "may have been filed, so it is not sent again",
            )  # fmt: skip
        wait = rate_limit_wait(headers, status, datetime.now(UTC))
        self._not_before = max(self._not_before, time.monotonic() + wait)
        return interpret(status, body, wait)


def report_params(record: ActionRecord) -> dict[str, object]:
    """The JSON body of ``POST /api/v1/reports`` for ``record``."""
    params: dict[str, object] = {
        "account_id": record.account_id,
        "status_ids": [record.status_id],
        "comment": record.comment,
        "category": record.report_category,
        "forward": record.forward,
    }
    if record.rule_ids:
        params["rule_ids"] = list(record.rule_ids)
    return params


def interpret(status: int, body: bytes, wait_s: float) -> Answer:
    """What Mastodon's answer ``status`` with ``body`` means (see the module docstring)."""
    if status == 200:
        report_id = answer_field(body, "id")
        if report_id is None:
            return Answer("unknown", "invalid_answer", "200 without a report id")
        return Answer("done", "ok", "filed", report_id=report_id)
    error = (answer_field(body, "error") or "")[:200]
    if status == 429:
        return Answer("retry", "rate_limited", "429", wait_s=wait_s)
    if status in RETRIED_STATUSES:
        return Answer("retry", "server_error", f"answered {status}")
    if status in REFUSED_STATUSES:
        meaning = REFUSED_STATUSES[status]
        return Answer("refused", "refused", f"Mastodon answered {status} ({error}): {meaning}")
    if status == 404:
        return Answer(
            "failed", "not_found",
            f"404 ({error}): the instance does not know the post or its author (deleted, "
            "suspended, or never seen there)",
        )  # fmt: skip
    if status >= 500:
        return Answer("unknown", "server_error", f"answered {status}; the report may exist")
    return Answer("failed", "rejected", f"answered {status} ({error})")
