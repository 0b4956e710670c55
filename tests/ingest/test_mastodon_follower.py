"""The follower against a small server speaking Mastodon's protocol, into the real broker.

The server does what Mastodon's documentation and source say: ``GET /api/v2/instance`` names
the streaming URL; ``GET /api/v1/timelines/public`` pages newest first with ``since_id``,
``max_id`` and ``min_id``, writes ``next`` (max_id) and ``prev`` (min_id) Links that keep only
the filters and the limit, and sends ``X-RateLimit-*`` headers with an ISO 8601 reset; the
websocket ``/api/v1/streaming`` refuses a bad token with 401 before the upgrade, pings, and
sends ``{"stream", "event", "payload"}`` messages whose status payloads are JSON strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from mastodon_entities import status
from pydantic import SecretStr

from streams.ingest.mastodon.config import FollowerConfig
from streams.ingest.mastodon.errors import MastodonAuthError
from streams.ingest.mastodon.follower import follow
from streams.ingest.mastodon.producer import RawProducer
from streams.ingest.mastodon.state import load_state

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

TOKEN = "a-user-token-with-read-statuses"


def snowflake(when: datetime, seq: int) -> str:
    return str((int(when.timestamp() * 1000) << 16) + seq)


class Instance:
    """A Mastodon instance's timeline and streaming server, as far as the follower uses them."""

    def __init__(self) -> None:
        self.statuses: dict[int, dict[str, Any]] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self.throttle_next = 0  # answer this many timeline requests with 429
        self.requests: list[str] = []
        self.url = ""
        self._seq = 0

    def add(self, when: datetime) -> dict[str, Any]:
        self._seq += 1
        post = status(snowflake(when, self._seq), f"<p>post {self._seq}</p>")
        post["created_at"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.statuses[int(post["id"])] = post
        return post

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def instance(self, request: web.Request) -> web.Response:
        ws_url = self.url.replace("http://", "ws://")
        return web.json_response(
            {"uri": "mastodon.local", "configuration": {"urls": {"streaming": ws_url}}}
        )

    def _limits(self, remaining: int) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=0.5)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }

    async def timeline(self, request: web.Request) -> web.Response:
        self.requests.append(request.query_string)
        if not self._authorised(request):
            return web.json_response({"error": "The access token is invalid"}, status=401)
        if self.throttle_next:
            self.throttle_next -= 1
            body = {"error": "Too many requests"}
            return web.json_response(body, status=429, headers=self._limits(0))
        q = request.query
        limit = min(int(q.get("limit", "20")), 40)
        ids = sorted(self.statuses, reverse=True)
        if "max_id" in q:
            ids = [i for i in ids if i < int(q["max_id"])]
        if "since_id" in q:
            ids = [i for i in ids if i > int(q["since_id"])]
        if "min_id" in q:
            ids = sorted(i for i in ids if i > int(q["min_id"]))[:limit][::-1]
        page = ids[:limit]
        headers = self._limits(299)
        if page:
            base = f"{self.url}/api/v1/timelines/public?limit={limit}&remote=true"
            headers["Link"] = (
                f'<{base}&max_id={page[-1]}>; rel="next", <{base}&min_id={page[0]}>; rel="prev"'
            )
        text = json.dumps([self.statuses[i] for i in page], separators=(",", ":"))
        return web.Response(text=text, content_type="application/json", headers=headers)

    async def streaming(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"error": "Missing access token"}, status=401)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        pinger = asyncio.create_task(self._ping(ws))
        try:
            async for message in ws:
                if message.type is WSMsgType.CLOSE:
                    break
        finally:
            pinger.cancel()
        return ws

    async def _ping(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            await ws.ping()
            await asyncio.sleep(0.2)

    async def send(self, event: str, payload: str) -> None:
        message = json.dumps({"stream": ["public:remote"], "event": event, "payload": payload})
        await self.sockets[-1].send_str(message)

    async def drop(self) -> None:
        await self.sockets[-1].close()


@contextlib.asynccontextmanager
async def serving(server: Instance) -> AsyncIterator[Instance]:
    app = web.Application()
    app.router.add_get("/api/v2/instance", server.instance)
    app.router.add_get("/api/v1/timelines/public", server.timeline)
    app.router.add_get("/api/v1/streaming", server.streaming)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def config(server: Instance, tmp_path: Path, topic: str, token: str = TOKEN) -> FollowerConfig:
    return FollowerConfig(
        base_url=server.url,
        access_token=SecretStr(token),
        streams=("public:remote",),
        topic_raw=topic,
        state_file=tmp_path / "state.json",
        backfill_max_age_s=3600,
        idle_timeout_s=1.0,
        backoff_base_s=0.05,
        backoff_max_s=0.2,
        state_flush_s=0,
    )


async def make_topic(bootstrap: str) -> str:
    topic = f"mastodon-raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    return topic


def producers(bootstrap: str) -> Callable[[], RawProducer]:
    def make() -> RawProducer:
        producer: RawProducer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        return producer

    return make


async def read_topic(bootstrap: str, topic: str, count: int) -> list[tuple[str, bytes | None]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[tuple[str, bytes | None]] = []
    try:
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            for messages in batch.values():
                records += [(m.key.decode(), m.value) for m in messages if m.key is not None]
    finally:
        await consumer.stop()
    return records


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_backfill_stream_disconnect_and_restart(kafka_bootstrap: str, tmp_path: Path) -> None:
    asyncio.run(_backfill_stream_disconnect_and_restart(kafka_bootstrap, tmp_path))


async def _backfill_stream_disconnect_and_restart(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with serving(Instance()) as instance:
        await _scenario(instance, kafka_bootstrap, tmp_path)


async def _scenario(instance: Instance, kafka_bootstrap: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    instance.add(now - timedelta(hours=3))  # older than the backfill reaches
    before = [instance.add(now - timedelta(minutes=50 - i)) for i in range(45)]  # two pages
    instance.throttle_next = 1  # the first timeline request is answered 429
    topic = await make_topic(kafka_bootstrap)
    cfg = config(instance, tmp_path, topic)
    stop = asyncio.Event()
    run = asyncio.create_task(follow(cfg, producers(kafka_bootstrap), stop=stop))

    await until(
        lambda: (
            instance.connections == 1
            and load_state(cfg.state_file, cfg.base_url) == before[-1]["id"]
        )
    )
    live = [instance.add(datetime.now(UTC)) for _ in range(3)]
    for post in live:
        await instance.send("update", json.dumps(post))
    edited = dict(live[0], edited_at=datetime.now(UTC).isoformat(), content="<p>edited</p>")
    await instance.send("status.update", json.dumps(edited))
    await instance.send("delete", before[0]["id"])
    await instance.send("notification", "{}")
    await until(lambda: load_state(cfg.state_file, cfg.base_url) == live[-1]["id"])

    await instance.drop()
    missed = [instance.add(datetime.now(UTC)) for _ in range(42)]  # published while away
    await until(lambda: load_state(cfg.state_file, cfg.base_url) == missed[-1]["id"])
    assert instance.connections == 2
    stop.set()
    counts = await run

    # A restart backfills what was published while the follower was down.
    after_restart = [instance.add(datetime.now(UTC)) for _ in range(2)]
    stop = asyncio.Event()
    run = asyncio.create_task(follow(cfg, producers(kafka_bootstrap), stop=stop))
    await until(lambda: load_state(cfg.state_file, cfg.base_url) == after_restart[-1]["id"])
    stop.set()
    await run

    expected = {p["id"] for p in before + live + missed + after_restart}
    records = await read_topic(kafka_bootstrap, topic, len(expected) + 2)
    assert expected <= {key for key, value in records if value is not None}
    assert (before[0]["id"], None) in records
    assert any(key == live[0]["id"] and b"edited" in (value or b"") for key, value in records)
    # Published as the server wrote them.
    by_key = {key: value for key, value in records if value is not None}
    assert by_key[missed[0]["id"]] == json.dumps(missed[0], separators=(",", ":")).encode()
    assert counts.backfills == 2 and counts.streamed == 4 and counts.tombstones == 1
    assert counts.ignored == 1 and counts.backfilled >= 45 + 42
    # The first walk (no state yet) stops at the age bound, every later one at since_id.
    assert ["since_id" in q for q in instance.requests[:3]] == [False] * 3
    assert all("since_id" in q for q in instance.requests[3:])


def test_an_idle_connection_is_replaced(kafka_bootstrap: str, tmp_path: Path) -> None:
    asyncio.run(_idle(kafka_bootstrap, tmp_path))


async def _idle(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with serving(Instance()) as instance:
        await _idle_scenario(instance, kafka_bootstrap, tmp_path)


async def _idle_scenario(instance: Instance, kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = await make_topic(kafka_bootstrap)
    silent = asyncio.Event()

    async def no_pings(ws: web.WebSocketResponse) -> None:
        await silent.wait()

    instance._ping = no_pings  # type: ignore[method-assign]
    stop = asyncio.Event()
    run = asyncio.create_task(
        follow(config(instance, tmp_path, topic), producers(kafka_bootstrap), stop=stop)
    )
    await until(lambda: instance.connections >= 2, timeout=10)
    stop.set()
    counts = await run
    assert counts.connects >= 2


@pytest.mark.parametrize("where", ["rest", "streaming"])
def test_a_refused_token_stops_with_one_clear_line(
    kafka_bootstrap: str, tmp_path: Path, where: str
) -> None:
    message = asyncio.run(_refused(kafka_bootstrap, tmp_path, where))
    assert "401" in message and "STREAMS_MASTODON_ACCESS_TOKEN" in message and "\n" not in message
    assert "tok-3f9a" not in message  # the token is never repeated


async def _refused(kafka_bootstrap: str, tmp_path: Path, where: str) -> str:
    async with serving(Instance()) as instance:
        # Only one side refuses: the timeline, or the websocket (as a token without
        # read:statuses on Mastodon 4.2+).
        refuses = "/api/v1/timelines/public" if where == "rest" else "/api/v1/streaming"
        instance._authorised = lambda request: request.path != refuses  # type: ignore[method-assign]
        cfg = config(
            instance, tmp_path, await make_topic(kafka_bootstrap), token="tok-3f9a-not-valid"
        )
        with pytest.raises(MastodonAuthError) as raised:
            await asyncio.wait_for(
                follow(cfg, producers(kafka_bootstrap), stop=asyncio.Event()), 20
            )
        return str(raised.value)
