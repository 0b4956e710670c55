"""``streams ingest mastodon``: follow an instance's streaming API into the raw topic.

One connection at a time, for every configured stream (the first in the URL, the others by
``subscribe`` messages). After each connect, and so also after a restart, the public timeline
is walked back from the newest status to the last id published (``since_id``, persisted in the
state file), but no further back than ``backfill_max_age_s``; only then are the messages that
queued up meanwhile published. A reader task answers the server's pings all along; no message
nor ping for ``idle_timeout_s`` means a dead connection.

Delivery: a status is published (acks from all replicas) before its id counts as seen, and the
state file only ever holds an id whose status, and every one before it, the broker acknowledged.
The backfill walks newest first, so its newest id is recorded only once the walk is done: a
crash half-way repeats the walk (duplicates, never a gap). Duplicates have the same key and
value, and the classifier's repeat cache does not score them twice.

Not covered, as Mastodon's API cannot tell: edits and deletes made while disconnected, and
statuses that arrive late with an id older than ``since_id`` (a backdated snowflake).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode

import aiohttp

from streams.ingest.mastodon import metrics
from streams.ingest.mastodon.backfill import walk_timeline
from streams.ingest.mastodon.config import FollowerConfig
from streams.ingest.mastodon.errors import MastodonAuthError, MastodonUnavailableError
from streams.ingest.mastodon.producer import RawProducer
from streams.ingest.mastodon.rest import MastodonClient, auth_failure
from streams.ingest.mastodon.state import load_state, save_state
from streams.ingest.mastodon.streaming import (
    STREAMING_PATH,
    Ignored,
    PublishStatus,
    PublishTombstone,
    StreamRefused,
    backoff_delay,
    newest_id,
    parse_message,
    timeline_url,
)

log = logging.getLogger(__name__)

#: Largest streaming message read; a status with a poll and attachments is tens of kilobytes.
MAX_MESSAGE_BYTES: Final = 8 * 1024 * 1024
#: A connection open this long counts as healthy: the reconnect backoff starts over.
STABLE_CONNECTION_S: Final = 30.0
#: Connect timeout of every request; reads are bounded per request and by the idle timeout.
CONNECT_TIMEOUT_S: Final = 15.0


@dataclass(slots=True)
class FollowCounts:
    """What a follow run did (returned when it stops)."""

    streamed: int = 0
    tombstones: int = 0
    backfilled: int = 0
    ignored: int = 0
    invalid: int = 0
    connects: int = 0
    backfills: int = 0
    since_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Ended:
    reason: str  # closed, idle


_Queued = str | _Ended


async def _read(
    ws: aiohttp.ClientWebSocketResponse, queue: asyncio.Queue[_Queued], idle_s: float
) -> None:
    """Move text messages to ``queue``, answer pings, and end with why the connection ended."""
    try:
        while True:
            message = await ws.receive(timeout=idle_s)
            if message.type is aiohttp.WSMsgType.TEXT:
                queue.put_nowait(message.data)
            elif message.type is aiohttp.WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type in (aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.BINARY):
                continue
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                queue.put_nowait(_Ended("closed"))
                return
    except TimeoutError:
        queue.put_nowait(_Ended("idle"))


class _Follower:
    def __init__(
        self,
        config: FollowerConfig,
        producer: RawProducer,
        client: MastodonClient,
        session: aiohttp.ClientSession,
        stop: asyncio.Event,
    ) -> None:
        self.config = config
        self.producer = producer
        self.client = client
        self.session = session
        self.stop = stop
        self.counts = FollowCounts(since_id=load_state(config.state_file, config.base_url))
        self._flushed_at = time.monotonic()
        self._saved = self.counts.since_id

    # --- publishing and the state file ------------------------------------------------------

    async def _send(self, key: str, value: bytes | None) -> None:
        await self.producer.send_and_wait(self.config.topic_raw, value, key.encode())

    def flush(self, *, force: bool = False) -> None:
        due = time.monotonic() - self._flushed_at >= self.config.state_flush_s
        if self.counts.since_id != self._saved and (force or due):
            save_state(self.config.state_file, self.config.base_url, self.counts.since_id)
            self._saved = self.counts.since_id
            self._flushed_at = time.monotonic()

    async def _handle(self, text: str) -> StreamRefused | None:
        action = parse_message(text)
        if isinstance(action, PublishStatus):
            await self._send(action.status_id, action.value)
            self.counts.streamed += 1
            self.counts.since_id = newest_id(self.counts.since_id, action.status_id)
            metrics.STREAM_MESSAGES.labels("status").inc()
            metrics.PUBLISHED.labels("stream", "status").inc()
            self.flush()
        elif isinstance(action, PublishTombstone):
            await self._send(action.status_id, None)
            self.counts.tombstones += 1
            metrics.STREAM_MESSAGES.labels("tombstone").inc()
            metrics.PUBLISHED.labels("stream", "tombstone").inc()
        elif isinstance(action, Ignored):
            invalid = action.reason == "invalid"
            self.counts.invalid += invalid
            self.counts.ignored += not invalid
            metrics.STREAM_MESSAGES.labels("invalid" if invalid else "ignored").inc()
        else:
            return action
        return None

    # --- backfill ---------------------------------------------------------------------------

    async def backfill(self) -> None:
        since_id = self.counts.since_id
        cutoff = datetime.now(UTC) - timedelta(seconds=self.config.backfill_max_age_s)
        newest, published, too_old, pages = since_id, 0, 0, 0
        for stream in self.config.streams:
            url = timeline_url(self.config.base_url, stream, since_id, self.config.page_limit)
            walked = await walk_timeline(self.client, self._send, url, since_id, cutoff, self.stop)
            newest = newest_id(newest, walked.newest) if walked.newest else newest
            published, too_old = published + walked.published, too_old + walked.too_old
            pages += walked.pages
        # Every status of the walk is acknowledged: only now may since_id move past them.
        if newest is not None:
            self.counts.since_id = newest_id(self.counts.since_id, newest)
        self.counts.backfilled += published
        self.counts.backfills += 1
        metrics.BACKFILLS.inc()
        metrics.PUBLISHED.labels("backfill", "status").inc(published)
        metrics.BACKFILL_TOO_OLD.inc(too_old)
        self.flush(force=True)
        log.info(
            "mastodon: backfill since %s: %d statuses published from %d pages, %d older than "
            "%.0fs left out; since_id now %s",
            since_id or "(none)",
            published,
            pages,
            too_old,
            self.config.backfill_max_age_s,
            self.counts.since_id,
        )

    # --- one connection ---------------------------------------------------------------------

    async def _next(self, queue: asyncio.Queue[_Queued]) -> _Queued | None:
        if not queue.empty():
            return queue.get_nowait()
        getter = asyncio.ensure_future(queue.get())
        stopper = asyncio.ensure_future(self.stop.wait())
        done, pending = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return getter.result() if getter in done else None

    async def _pump(self, queue: asyncio.Queue[_Queued]) -> str:
        while True:
            item = await self._next(queue)
            if item is None:
                return "stopped"
            if isinstance(item, _Ended):
                return item.reason
            refused = await self._handle(item)
            if refused is not None:
                if refused.status is not None and refused.status >= 500:
                    return "refused"
                raise MastodonAuthError(
                    f"Mastodon's streaming server refused the subscription ({refused.status}: "
                    f"{refused.message}); check STREAMS_MASTODON_STREAMS and that "
                    "STREAMS_MASTODON_ACCESS_TOKEN has the read:statuses scope"
                )

    async def connection(self, streaming_url: str) -> str:
        """Connect, backfill, publish until the connection ends; return why it ended."""
        first, *others = self.config.streams
        url = f"{streaming_url}{STREAMING_PATH}?{urlencode({'stream': first})}"
        try:
            ws = await self.session.ws_connect(
                url, autoping=False, heartbeat=None, max_msg_size=MAX_MESSAGE_BYTES
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise auth_failure(
                    exc.status, f"the streaming connection {STREAMING_PATH}"
                ) from None
            raise MastodonUnavailableError(f"streaming handshake answered {exc.status}") from None
        queue: asyncio.Queue[_Queued] = asyncio.Queue()
        reader = asyncio.create_task(_read(ws, queue, self.config.idle_timeout_s))
        try:
            for stream in others:
                await ws.send_json({"type": "subscribe", "stream": stream})
            self.counts.connects += 1
            metrics.CONNECTED.set(1)
            log.info(
                "mastodon: connected to %s (%s), connection %d",
                streaming_url,
                ", ".join(self.config.streams),
                self.counts.connects,
            )
            await self.backfill()
            return await self._pump(queue)
        finally:
            metrics.CONNECTED.set(0)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close()
            self.flush(force=True)

    async def run(self) -> FollowCounts:
        attempt = 0
        while not self.stop.is_set():
            started = time.monotonic()
            reason = await self._attempt()
            if reason == "stopped" or self.stop.is_set():
                break
            # A connection that lasted resets the backoff; one that ends at once does not, so
            # a server that accepts and drops every connection is not hammered.
            lasted = time.monotonic() - started >= STABLE_CONNECTION_S
            attempt = 0 if lasted and reason in ("closed", "idle") else attempt + 1
            delay = backoff_delay(
                attempt, base_s=self.config.backoff_base_s, max_s=self.config.backoff_max_s
            )
            metrics.RECONNECTS.labels(reason).inc()
            log.info(
                "mastodon: connection ended (%s); reconnect %d in %.1fs", reason, attempt, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
        return self.counts

    async def _attempt(self) -> str:
        try:
            return await self.connection(await self.client.streaming_url())
        except MastodonUnavailableError as exc:
            log.warning("mastodon: %s; will retry", exc)
            return "unreachable"
        except (aiohttp.ClientError, OSError) as exc:
            log.warning(
                "mastodon: %s unreachable (%s: %s); will retry",
                self.config.base_url,
                type(exc).__name__,
                exc,
            )
            return "unreachable"


async def follow(
    config: FollowerConfig,
    producer_factory: Callable[[], RawProducer],
    *,
    stop: asyncio.Event,
) -> FollowCounts:
    """Follow the instance until ``stop`` is set; return the counts.

    Raises ``MastodonAuthError`` when the instance refuses the token (the command exits
    non-zero with its one-line message), ``ConfigurationError`` for a base URL that is no
    Mastodon instance. Everything else (unreachable host, 5xx, dropped or idle connections,
    429) is retried with backoff and jitter.
    """
    headers = {
        "Authorization": f"Bearer {config.access_token.get_secret_value()}",
        "User-Agent": "streams-moderation (Mastodon connector)",
    }
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S)
    producer = producer_factory()
    await producer.start()
    try:
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            client = MastodonClient(session, config.base_url, config.request_timeout_s)
            return await _Follower(config, producer, client, session, stop).run()
    finally:
        await producer.stop()
