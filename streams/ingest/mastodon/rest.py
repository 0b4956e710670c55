"""The REST calls of the follower: where the streaming server is, and pages of a timeline.

Honours Mastodon's rate limits: after an answer with ``X-RateLimit-Remaining: 0`` the next
request waits for ``X-RateLimit-Reset``; a 429 waits for it and is retried. 401/403 raise
``MastodonAuthError`` (fatal); connection failures, timeouts and 5xx raise
``MastodonUnavailableError`` (retried by the caller).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from streams.errors import ConfigurationError
from streams.ingest.mastodon import metrics
from streams.ingest.mastodon.errors import MastodonAuthError, MastodonUnavailableError
from streams.ingest.mastodon.jsontext import element_spans
from streams.ingest.mastodon.streaming import TimelineStatus, page_status, rate_limit_wait

log = logging.getLogger(__name__)

INSTANCE_PATH: Final = "/api/v2/instance"
#: 429s in a row before a request counts as failed (the caller reconnects with backoff).
MAX_THROTTLED: Final = 5


class _Urls(BaseModel):
    model_config = ConfigDict(extra="ignore")
    streaming: str | None = None


class _Configuration(BaseModel):
    model_config = ConfigDict(extra="ignore")
    urls: _Urls = _Urls()


class _Instance(BaseModel):
    model_config = ConfigDict(extra="ignore")
    configuration: _Configuration = _Configuration()


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def auth_failure(status: int, where: str) -> MastodonAuthError:
    """The one-line error of a refused token."""
    meaning = "the token is invalid or revoked" if status == 401 else "the token lacks a scope"
    return MastodonAuthError(
        f"Mastodon answered {status} to {where}: {meaning}; set STREAMS_MASTODON_ACCESS_TOKEN "
        "to a user token with the read:statuses scope"
    )


class MastodonClient:
    """REST requests to one instance through ``session`` (which carries the token)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
        self._session = session
        self._base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._not_before = 0.0  # time.monotonic() before which no request is sent

    async def _throttle(self) -> None:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            log.info("mastodon: rate limit reached; waiting %.1fs for the reset", wait)
            metrics.RATE_LIMIT_WAIT.inc(wait)
            await asyncio.sleep(wait)

    def _note_limits(self, headers: Mapping[str, str], status: int) -> float:
        wait = rate_limit_wait(headers, status, datetime.now(UTC))
        self._not_before = max(self._not_before, time.monotonic() + wait)
        return wait

    async def get(self, url: str) -> tuple[bytes, Mapping[str, str]]:
        """The body and headers of a successful GET of ``url``."""
        for _ in range(MAX_THROTTLED):
            await self._throttle()
            try:
                async with self._session.get(url, timeout=self._timeout) as response:
                    body = await response.read()
                    headers = {k: v for k, v in response.headers.items()}
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise MastodonUnavailableError(
                    f"cannot reach {urlsplit(url).netloc} ({type(exc).__name__}: {exc})"
                ) from None
            self._note_limits(headers, status)
            if status == 429:
                metrics.RATE_LIMITED.inc()
                continue
            self._check(status, url)
            return body, headers
        raise MastodonUnavailableError(f"{_path(url)} stayed rate limited (429)")

    def _check(self, status: int, url: str) -> None:
        if status in (401, 403):
            raise auth_failure(status, f"GET {_path(url)}")
        if status >= 500:
            raise MastodonUnavailableError(f"GET {_path(url)} answered {status}")
        if status >= 400:
            raise ConfigurationError(
                f"GET {_path(url)} answered {status}: is STREAMS_MASTODON_BASE_URL "
                f"({self._base_url}) a Mastodon instance?"
            )

    async def streaming_url(self) -> str:
        """``configuration.urls.streaming`` of ``/api/v2/instance``, else the base URL, as a
        ws(s) URL without a trailing slash."""
        url = self._base_url
        try:
            body, _ = await self.get(self._base_url + INSTANCE_PATH)
            found = _Instance.model_validate_json(body).configuration.urls.streaming
            url = found or url
        except ConfigurationError:  # no v2 instance endpoint (before Mastodon 4.0)
            pass
        except ValidationError:
            log.warning(
                "mastodon: %s is not an instance entity; streaming from the base URL", INSTANCE_PATH
            )
        parts = urlsplit(url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    async def timeline_page(self, url: str) -> tuple[list[TimelineStatus], str | None, int]:
        """The statuses of one timeline page (newest first), its Link header, and how many
        elements were left out for having no valid id."""
        body, headers = await self.get(url)
        text = body.decode("utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            raise MastodonUnavailableError(f"GET {_path(url)}: the page is not JSON") from None
        if not isinstance(parsed, list):
            raise MastodonUnavailableError(f"GET {_path(url)}: the page is not a JSON array")
        items = [page_status(text[a:b]) for a, b in element_spans(text)]
        found = [item for item in items if item is not None]
        link = next((v for k, v in headers.items() if k.lower() == "link"), None)
        return found, link, len(items) - len(found)
